// GORO_TRACE: recording the scheduler's events, and writing them as Chrome trace-event JSON
// (see trace.hpp for the invariants).
//
// The file: {"traceEvents": [...]} with, per thread, a metadata event naming its lane
// ("worker 0", ...), a complete event ("ph": "X") for each running span of a goroutine,
// named "G<id>" (and "(name)" if it set one), and instant events ("ph": "i") for
// created/blocked/yielded/ended/woken/steal/timer. Timestamps are microseconds since
// goro::run started. A span is recorded as two events (start, and the next block, yield or
// end of the same thread) and paired when the file is written: while recording, an event
// is 24 bytes and no formatting.
#include "trace.hpp"

#include <sys/mman.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sched.hpp"
#include "timer.hpp"

namespace goro::detail::trace {

namespace {

struct record {
  std::int64_t ts;  // ticks()
  std::uint64_t g;
  std::uint32_t arg;
  kind k;
};
static_assert(sizeof(record) == 24);

// A buffer grows in chunks as it fills, so an idle worker costs no memory. A chunk is a
// 2 MiB region, one transparent huge page where the kernel allows them (MADV_HUGEPAGE, as
// g_pool's): on the development VM a first touch of a page costs ~15 us, which in 4 KiB
// pages was ~90 ns an event, more than the rest of recording it.
constexpr std::size_t kChunkBytes = std::size_t{2} << 20;
constexpr std::size_t kChunk = kChunkBytes / sizeof(record);  // 87,381 events
// A thread's default cap, 24 MiB of events: some 350,000 context switches with their
// wake-ups (three events each), a tenth of a second of a busy channel ping-pong; enough for
// the picture of a run, not the whole of a long one. GORO_TRACE_EVENTS changes it.
constexpr std::size_t kDefaultCap = std::size_t{1} << 20;

// A worker's events, appended by that worker only.
struct lane {
  std::atomic<std::size_t> n{0};  // recorded; a release store publishes each event
  std::atomic<std::size_t> dropped{0};
  // Chunk i holds events [i * kChunk, (i + 1) * kChunk); an entry is written once, before
  // the count that covers its first event.
  std::vector<record*> chunks;
  const record& at(std::size_t i) const noexcept { return chunks[i / kChunk][i % kChunk]; }
};

// Maps a chunk aligned to its size, so that it can be one huge page; null if out of memory.
record* map_chunk() noexcept {
  void* p =
      mmap(nullptr, 2 * kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  auto* lo = static_cast<std::byte*>(p);
  const auto addr = reinterpret_cast<std::uintptr_t>(lo);
  auto* r = lo + ((kChunkBytes - addr % kChunkBytes) % kChunkBytes);
  if (r > lo) munmap(lo, static_cast<std::size_t>(r - lo));
  if (r + kChunkBytes < lo + 2 * kChunkBytes) {
    munmap(r + kChunkBytes, static_cast<std::size_t>(lo + 2 * kChunkBytes - (r + kChunkBytes)));
  }
  madvise(r, kChunkBytes, MADV_HUGEPAGE);  // a hint: without THP, small pages
  return reinterpret_cast<record*>(r);
}

// An event's time: the time-stamp counter where there is one, converted to nanoseconds when
// the file is written (Go's tracer does the same with cputicks). On the development VM
// reading it costs ~25 ns against ~85 ns for the steady clock. A thread that moves between
// cores may see it step back a little: the writer keeps each lane's times from decreasing.
inline std::int64_t ticks() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  return static_cast<std::int64_t>(__rdtsc());
#else
  return nanotime();
#endif
}

// An event of a thread that is not a worker, with that thread's kernel id.
struct shared_record {
  record r;
  std::uint32_t tid;
};

struct state {
  std::FILE* file = nullptr;
  std::string path;
  std::size_t cap = kDefaultCap;
  std::int64_t t0 = 0;        // nanotime() at begin
  std::int64_t ticks0 = 0;    // ticks() at begin
  std::uint32_t run_tid = 0;  // goro::run's thread
  // Set while no worker runs (begin, end); read by the workers and shutdown's helpers.
  unsigned nlanes = 0;
  std::unique_ptr<lane[]> lanes;
  spinlock lock;
  std::vector<shared_record> shared GORO_GUARDED_BY(lock);
  std::size_t shared_dropped GORO_GUARDED_BY(lock) = 0;
  std::vector<std::pair<std::uint64_t, std::string>> names GORO_GUARDED_BY(lock);
  bool closed GORO_GUARDED_BY(lock) = true;  // no run is being traced: drop what comes
  std::atomic<bool> written{false};          // one writer: end() or a fatal end
};

// Never freed: a plain thread or the background timer thread may still be on its way into
// event() when the run ends; it finds `closed` under the lock.
state& the() noexcept {
  static state* const s = new state;
  return *s;
}

std::size_t cap_from_env() noexcept {
  if (const char* env = std::getenv("GORO_TRACE_EVENTS")) {
    char* end = nullptr;
    const unsigned long long n = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0' && n > 0) return static_cast<std::size_t>(n);
  }
  return kDefaultCap;
}

void free_lanes(state& s) noexcept {
  for (unsigned i = 0; i < s.nlanes; ++i) {
    for (record* c : s.lanes[i].chunks) {
      if (c) munmap(c, kChunkBytes);
    }
  }
  s.lanes.reset();
  s.nlanes = 0;
}

// ---------------------------------------------------------------------------------------
// Writing the JSON

const char* timer_text(std::uint32_t k) noexcept {
  switch (static_cast<timer_kind>(k)) {
    case timer_kind::wake:
      return "sleep";
    case timer_kind::send_time:
      return "timer channel";
    case timer_kind::run_func:
      return "after_func";
    case timer_kind::call:
      return "I/O deadline";
  }
  return "timer";
}

bool is_stop(kind k) noexcept {
  return k == kind::block || k == kind::yield || k == kind::end;
}

// How a span ended, for its args.
const char* stop_text(const record& r) noexcept {
  switch (r.k) {
    case kind::block:
      return wait_reason_text(static_cast<wait_reason>(r.arg));
    case kind::yield:
      return "yield";
    case kind::end:
      return "ended";
    default:
      return "(trace ends)";
  }
}

class json_writer {
 public:
  json_writer(std::FILE* f, std::uint32_t pid) : f_(f), pid_(pid) { buf_.reserve(kFlushAt + 4096); }

  json_writer& raw(std::string_view s) {
    buf_.append(s);
    return *this;
  }
  json_writer& num(std::uint64_t v) {
    char tmp[24];
    buf_.append(tmp, std::to_chars(tmp, tmp + sizeof tmp, v).ptr);
    return *this;
  }
  // A duration or timestamp in ns, as microseconds with three decimals.
  json_writer& us(std::int64_t ns) {
    if (ns < 0) ns = 0;
    num(static_cast<std::uint64_t>(ns / 1000));
    char frac[5] = {'.', '0', '0', '0', '\0'};
    const int r = static_cast<int>(ns % 1000);
    frac[1] = static_cast<char>('0' + r / 100);
    frac[2] = static_cast<char>('0' + r / 10 % 10);
    frac[3] = static_cast<char>('0' + r % 10);
    buf_.append(frac, 4);
    return *this;
  }
  json_writer& str(std::string_view s) {
    buf_.push_back('"');
    for (const char c : s) {
      if (c == '"' || c == '\\') {
        buf_.push_back('\\');
        buf_.push_back(c);
      } else if (static_cast<unsigned char>(c) < 0x20) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\u%04x", static_cast<unsigned>(c));
        buf_.append(esc);
      } else {
        buf_.push_back(c);
      }
    }
    buf_.push_back('"');
    return *this;
  }

  // The start of an event: name, phase, pid, tid (and ts, ns since the trace began, unless
  // it is metadata).
  json_writer& open(std::string_view name, char ph, std::uint32_t tid, const std::int64_t* ts) {
    if (!first_) raw(",\n");
    first_ = false;
    raw("{\"name\":").str(name).raw(",\"ph\":\"");
    buf_.push_back(ph);
    raw("\",\"pid\":").num(pid_).raw(",\"tid\":").num(tid);
    if (ts) raw(",\"ts\":").us(*ts);
    return *this;
  }
  void close() {
    raw("}");
    if (buf_.size() >= kFlushAt) flush();
  }

  void flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), f_) != buf_.size()) ok_ = false;
    buf_.clear();
  }
  bool ok() const noexcept { return ok_; }

 private:
  static constexpr std::size_t kFlushAt = 1 << 20;
  std::FILE* f_;
  std::uint32_t pid_;
  std::string buf_;
  bool first_ = true;
  bool ok_ = true;
};

using name_list = std::vector<std::pair<std::uint64_t, std::string>>;

// prefix + the number. (Not `"G" + std::to_string(n)`: g++ 12 warns, wrongly, that the
// insert it inlines may overlap, -Wrestrict at -O3.)
std::string numbered(std::string_view prefix, std::uint64_t n) {
  std::string out(prefix);
  out += std::to_string(n);
  return out;
}

std::string span_name(std::uint64_t gid, const name_list& names) {
  std::string name = numbered("G", gid);
  // The latest name wins: a goroutine may rename itself. Few goroutines have names.
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    if (it->first == gid) {
      name += " (";
      name += it->second;
      name += ')';
      break;
    }
  }
  return name;
}

void write_thread_name(json_writer& o, std::uint32_t tid, const std::string& name,
                       std::uint32_t order) {
  o.open("thread_name", 'M', tid, nullptr).raw(",\"args\":{\"name\":").str(name).raw("}");
  o.close();
  o.open("thread_sort_index", 'M', tid, nullptr).raw(",\"args\":{\"sort_index\":");
  o.num(order).raw("}");
  o.close();
}

// One thread's events, n of them, at(i) the i-th, in the order they were recorded (so their
// timestamps do not decrease). A start is written as a complete event lasting until the
// thread's next stop, and the instants as they come: the file's order is the time order.
// Ticks to nanoseconds since the trace began, from two readings of both clocks.
struct clock_map {
  std::int64_t ticks0;
  double ns_per_tick;
  std::int64_t operator()(std::int64_t t) const noexcept {
    return static_cast<std::int64_t>(static_cast<double>(t - ticks0) * ns_per_tick);
  }
};

template <class At>
void write_lane(json_writer& o, std::uint32_t tid, std::size_t n, At at, const name_list& names,
                const clock_map& ns) {
  std::int64_t last = 0;  // this lane's times never decrease
  for (std::size_t i = 0; i < n; ++i) {
    const record& r = at(i);
    const std::int64_t ts = last = std::max(last, ns(r.ts));
    const char* what = nullptr;
    switch (r.k) {
      case kind::start: {
        std::size_t j = i + 1;
        while (j < n && !is_stop(at(j).k) && at(j).k != kind::start) ++j;
        // A span cut short by the cap or a fatal end lasts until the lane's last event.
        const bool stopped = j < n && is_stop(at(j).k) && at(j).g == r.g;
        const std::int64_t until = std::max(ts, ns(j < n ? at(j).ts : at(n - 1).ts));
        o.open(span_name(r.g, names), 'X', tid, &ts).raw(",\"dur\":").us(until - ts);
        o.raw(",\"cat\":\"goroutine\",\"args\":{\"g\":").num(r.g).raw(",\"then\":");
        o.str(stopped ? stop_text(at(j)) : "(trace ends)").raw("}");
        o.close();
        continue;
      }
      case kind::created:
        what = "created";
        break;
      case kind::block:
        what = "blocked";
        break;
      case kind::yield:
        what = "yielded";
        break;
      case kind::end:
        what = "ended";
        break;
      case kind::woken:
        what = "woken";
        break;
      case kind::steal:
        what = "steal";
        break;
      case kind::timer:
        what = "timer fired";
        break;
    }
    o.open(what, 'i', tid, &ts).raw(",\"s\":\"t\",\"args\":{");
    if (r.k != kind::timer || r.g != 0) o.raw("\"g\":").num(r.g);
    if (r.k == kind::block)
      o.raw(",\"reason\":").str(wait_reason_text(static_cast<wait_reason>(r.arg)));
    if (r.k == kind::steal) o.raw(",\"victim\":").str(numbered("worker ", r.arg));
    if (r.k == kind::timer) o.raw(r.g != 0 ? "," : "").raw("\"timer\":").str(timer_text(r.arg));
    o.raw("}");
    o.close();
  }
}

// Writes the trace: everything published so far. Workers may still be appending (a fatal
// end); each lane is read up to its published count.
void write_file(state& s) noexcept {
  try {
    std::vector<shared_record> shared;
    name_list names;
    std::size_t dropped = 0;
    {
      spin_guard hold(s.lock);
      shared = s.shared;
      names = s.names;
      dropped = s.shared_dropped;
    }
    std::vector<std::size_t> counts(s.nlanes);
    for (unsigned i = 0; i < s.nlanes; ++i) {
      counts[i] = s.lanes[i].n.load(std::memory_order_acquire);
      dropped += s.lanes[i].dropped.load(std::memory_order_relaxed);
    }

    const std::int64_t now = nanotime(), now_ticks = ticks();
    clock_map ns{s.ticks0, 1.0};
    if (now_ticks > s.ticks0 && now > s.t0) {
      ns.ns_per_tick = static_cast<double>(now - s.t0) / static_cast<double>(now_ticks - s.ticks0);
    }
    json_writer o(s.file, static_cast<std::uint32_t>(getpid()));
    o.raw("{\"displayTimeUnit\":\"ns\",\"otherData\":{\"workers\":").num(s.nlanes);
    o.raw(",\"cap\":").num(s.cap).raw(",\"dropped\":").num(dropped).raw("},\n\"traceEvents\":[\n");
    o.open("process_name", 'M', 0, nullptr).raw(",\"args\":{\"name\":");
    o.str(std::string("goro: ").append(program_invocation_short_name)).raw("}");
    o.close();
    for (unsigned i = 0; i < s.nlanes; ++i) {
      write_thread_name(o, i + 1, numbered("worker ", i), i);
    }
    for (unsigned i = 0; i < s.nlanes; ++i) {
      const lane& l = s.lanes[i];
      write_lane(
          o, i + 1, counts[i], [&](std::size_t k) -> const record& { return l.at(k); }, names, ns);
    }
    // Other threads: a lane each, numbered after the workers in the order they appear.
    std::vector<std::uint32_t> tids;
    for (const shared_record& e : shared) {
      if (std::find(tids.begin(), tids.end(), e.tid) == tids.end()) tids.push_back(e.tid);
    }
    for (std::size_t t = 0; t < tids.size(); ++t) {
      std::vector<record> mine;
      for (const shared_record& e : shared) {
        if (e.tid == tids[t]) mine.push_back(e.r);
      }
      const auto tid = static_cast<std::uint32_t>(1000 + t);
      write_thread_name(
          o, tid,
          tids[t] == s.run_tid ? std::string("goro::run's thread") : numbered("thread ", tids[t]),
          static_cast<std::uint32_t>(s.nlanes + t));
      write_lane(
          o, tid, mine.size(), [&](std::size_t k) -> const record& { return mine[k]; }, names, ns);
    }
    o.raw("\n]}\n");
    o.flush();
    const bool ok = o.ok() && std::fflush(s.file) == 0;
    if (!ok) std::fprintf(stderr, "goro: GORO_TRACE: writing %s failed\n", s.path.c_str());
    if (dropped > 0) {
      std::fprintf(stderr,
                   "goro: GORO_TRACE: %zu events dropped (a thread keeps at most %zu; "
                   "GORO_TRACE_EVENTS raises the cap)\n",
                   dropped, s.cap);
    }
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "goro: GORO_TRACE: out of memory writing %s\n", s.path.c_str());
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Recording

void begin(unsigned nworkers) noexcept {
  const char* path = std::getenv("GORO_TRACE");
  if (!path || !*path) return;
  state& s = the();
  std::FILE* f = std::fopen(path, "w");
  if (!f) {
    std::fprintf(stderr, "goro: GORO_TRACE: cannot open %s: %s\n", path, std::strerror(errno));
    return;
  }
  try {
    s.path = path;
    s.cap = cap_from_env();
    s.lanes = std::make_unique<lane[]>(nworkers);
    for (unsigned i = 0; i < nworkers; ++i) {
      s.lanes[i].chunks.assign((s.cap + kChunk - 1) / kChunk, nullptr);
    }
  } catch (const std::bad_alloc&) {
    s.lanes.reset();
    std::fclose(f);
    std::fprintf(stderr, "goro: GORO_TRACE: out of memory\n");
    return;
  }
  s.file = f;
  s.nlanes = nworkers;
  s.t0 = nanotime();
  s.ticks0 = ticks();
  s.run_tid = static_cast<std::uint32_t>(gettid());
  {
    spin_guard hold(s.lock);
    s.shared.clear();
    s.shared_dropped = 0;
    s.names.clear();
    s.closed = false;
  }
  s.written.store(false, std::memory_order_relaxed);
  enabled.store(true, std::memory_order_release);
}

void end() noexcept {
  if (!on()) return;
  enabled.store(false, std::memory_order_relaxed);
  state& s = the();
  {
    spin_guard hold(s.lock);
    s.closed = true;
  }
  // A fatal end on another thread won the race and is writing: leave it the buffers (the
  // process is about to end).
  if (s.written.exchange(true, std::memory_order_acq_rel)) return;
  write_file(s);
  if (std::fclose(s.file) != 0) {
    std::fprintf(stderr, "goro: GORO_TRACE: writing %s failed\n", s.path.c_str());
  }
  s.file = nullptr;
  free_lanes(s);
  spin_guard hold(s.lock);
  s.shared = {};
  s.names = {};
}

void write_now() noexcept {
  if (!on()) return;
  state& s = the();
  if (s.written.exchange(true, std::memory_order_acq_rel)) return;
  write_file(s);
  std::fclose(s.file);
}

void event(worker* w, kind k, std::uint64_t gid, std::uint32_t arg) noexcept {
  state& s = the();
  if (w && w->index < s.nlanes) {
    lane& l = s.lanes[w->index];
    const std::size_t n = l.n.load(std::memory_order_relaxed);
    // Past the cap, before reading the clock: a dropped event costs a few nanoseconds.
    record** chunk = n < s.cap ? &l.chunks[n / kChunk] : nullptr;
    if (!chunk || (!*chunk && !(*chunk = map_chunk()))) {
      l.dropped.store(l.dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return;
    }
    (*chunk)[n % kChunk] = {ticks(), gid, arg, k};
    l.n.store(n + 1, std::memory_order_release);
    return;
  }
  const std::int64_t now = ticks();
  const auto tid = static_cast<std::uint32_t>(gettid());
  spin_guard hold(s.lock);
  if (s.closed) return;
  if (s.shared.size() >= s.cap) {
    ++s.shared_dropped;
    return;
  }
  try {
    s.shared.push_back({{now, gid, arg, k}, tid});
  } catch (const std::bad_alloc&) {
    ++s.shared_dropped;
  }
}

void switched_out(worker* w, const g* gp, g::switch_request::kind_t why) noexcept {
  switch (why) {
    case g::switch_request::park:
      event(w, kind::block, gp->id,
            static_cast<std::uint32_t>(gp->reason.load(std::memory_order_relaxed)));
      break;
    case g::switch_request::yield:
      event(w, kind::yield, gp->id);
      break;
    case g::switch_request::exit:
      event(w, kind::end, gp->id);
      break;
  }
}

void timer_fired(const timer_state* t) noexcept {
  const std::uint64_t gid = t->kind == timer_kind::wake && t->gp ? t->gp->id : 0;
  event(current_worker(), kind::timer, gid, static_cast<std::uint32_t>(t->kind));
}

void named(std::uint64_t gid, const char* name) noexcept {
  state& s = the();
  spin_guard hold(s.lock);
  if (s.closed) return;
  try {
    s.names.emplace_back(gid, name);
  } catch (const std::bad_alloc&) {
  }
}

}  // namespace goro::detail::trace
