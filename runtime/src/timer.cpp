#include "timer.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <goro/time.hpp>

#include "assert.hpp"
#include "chan.hpp"
#include "sched.hpp"
#include "synctest.hpp"
#include "trace.hpp"

namespace goro::detail {

namespace {

void timer_unref(timer_state* t) noexcept {
  if (t && t->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    if (!t->c_owns_timer) chan_release(t->c);
    delete t;
  }
}

std::int64_t to_ns(std::chrono::steady_clock::duration d) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// The heap for timers armed by plain threads, served by one background thread that sleeps
// until the earliest of them.
class background_timers {
 public:
  static background_timers& get() {
    static background_timers instance;
    return instance;
  }
  timer_heap heap;
  std::atomic<bool> started{false};

  void armed(bool earliest) {
    if (!earliest) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!thread_.joinable()) {
      thread_ = std::thread([this] { loop(); });
      started.store(true, std::memory_order_release);
    }
    changed_ = true;
    cv_.notify_one();
  }

  ~background_timers() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
      cv_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
    heap.clear();
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      const std::int64_t when = heap.earliest();
      const std::int64_t now = nanotime();
      if (when <= now) {
        lock.unlock();
        heap.run_due(now, false);
        lock.lock();
        continue;
      }
      changed_ = false;
      auto pred = [&] { return stop_ || changed_; };
      if (when == INT64_MAX) {
        cv_.wait(lock, pred);
      } else {
        cv_.wait_until(lock, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(when)),
                       pred);
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool changed_ = false, stop_ = false;
  std::thread thread_;
};

// How late a timer armed `delay` ns ahead may fire (see timer.hpp).
std::int64_t slack_for(std::int64_t delay) noexcept {
  constexpr std::int64_t kMaxSlack = 1'000'000;
  return std::clamp<std::int64_t>(delay / 1024, 0, kMaxSlack);
}

// Arms t (under t->mu, not in any heap) on the right heap, to fire at `when` (`now` is the
// current nanotime).
void arm_locked(timer_state* t, std::int64_t when, std::int64_t now) {
  if (t->bub) [[unlikely]] {
    // The bubble's root fires it, exactly on time (no slack: the clock jumps to it).
    t->bub->timers.add(t, when, when);
    return;
  }
  const std::int64_t deadline = when + slack_for(when - now);
  worker* w = current_worker();
  runtime* rt = current_runtime();
  if (w && w->rt == rt && rt && !rt->draining) {
    if (w->timers.add(t, when, deadline)) timer_added(rt, deadline);
    return;
  }
  background_timers& bg = background_timers::get();
  bg.armed(bg.heap.add(t, when, deadline));
}

// Removes t from its heap, if it is in one. Under t->mu.
bool unarm_locked(timer_state* t) noexcept {
  timer_heap* h = t->heap.load(std::memory_order_acquire);
  return h && h->remove(t);
}

// Runs f() in a goroutine, or in a thread of its own when no runtime is running.
void start_func(timer_state* t) {
  t->refs.fetch_add(1, std::memory_order_relaxed);
  auto body = [t] {
    struct unref {
      timer_state* t;
      ~unref() { timer_unref(t); }
    } guard{t};
    t->f();
  };
  if (current_runtime()) {
    goro::go(std::move(body));
  } else {
    std::thread(std::move(body)).detach();
  }
}

// Delivers a popped timer unless a stop or reset came in between. Takes over the heap's
// reference to t. A sleeper it wakes is readied without waking an idle worker: returns
// whether it readied one, so that the caller wakes a worker once per batch.
bool deliver(timer_state* t, std::uint32_t seq, std::int64_t now) {
  g* wake = nullptr;
  timer_call call = nullptr;
  std::uint64_t call_seq = 0;
  {
    std::lock_guard<spinlock> lock(t->mu);
    if (static_cast<std::uint32_t>(t->seq.load(std::memory_order_relaxed)) == seq) {
      if (GORO_UNLIKELY(trace::on())) trace::timer_fired(t);
      if (t->period > 0 && !t->heap.load(std::memory_order_relaxed)) {
        // Next tick on the period's grid, skipping the ticks already missed.
        std::int64_t next = t->when + t->period;
        if (next <= now) next += (now - next) / t->period * t->period + t->period;
        arm_locked(t, next, now);
      }
      switch (t->kind) {
        case timer_kind::wake:
          t->fired = true;
          wake = t->gp;
          break;
        case timer_kind::send_time: {
          auto tp = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(now));
          chan_try_send(t->c, &tp);  // a full channel (slow reader) drops the tick
          break;
        }
        case timer_kind::run_func:
          start_func(t);
          break;
        case timer_kind::call:
          call = t->call;  // called below, without t->mu: it takes its owner's lock
          call_seq = t->call_seq;
          break;
      }
    }
    t->sending.fetch_sub(1, std::memory_order_release);
  }
  const bool called_readied = call && call(t->call_arg, call_seq);
  timer_unref(t);
  // A sleep's timer lives on the sleeper's stack: once readied, it may be gone.
  if (wake) ready(wake, /*wake_idle=*/false);
  return wake != nullptr || called_readied;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The heap: 4-ary (Go's too), with each entry's deadline and `when` beside its pointer, so
// that sifting reads the array only, and each entry's position in pos_ (see timer.hpp), so
// that it writes arrays only. (With the keys in the timers, which live on their
// goroutines' stacks, each level of a sift was a cache miss on a different page.)

bool timer_heap::add(timer_state* t, std::int64_t when, std::int64_t deadline) {
  GORO_ASSERT(t->heap.load(std::memory_order_relaxed) == nullptr,
              "a timer added to a heap while it is in one");
  spin_guard lock(lock_);
  if (free_slot_ == kNoSlot) {
    if (pos_.size() >= kNoSlot) throw std::length_error("goro: too many timers on one worker");
    pos_.push_back(kNoSlot);
    free_slot_ = static_cast<std::uint32_t>(pos_.size() - 1);
  }
  // Under t->mu (every arming holds it), so seq cannot move while it is read.
  const auto seq = static_cast<std::uint32_t>(t->seq.load(std::memory_order_relaxed));
  heap_.push_back({deadline, when, t, free_slot_, seq});  // if this throws, the slot stays free
  t->heap_slot = free_slot_;
  free_slot_ = pos_[free_slot_];
  t->refs.fetch_add(1, std::memory_order_relaxed);
  t->when = when;
  t->heap.store(this, std::memory_order_release);
  pos_[t->heap_slot] = static_cast<std::uint32_t>(heap_.size() - 1);
  sift_up(heap_.size() - 1);
  publish();
  return heap_.front().t == t;
}

bool timer_heap::remove(timer_state* t) noexcept {
  {
    spin_guard lock(lock_);
    if (t->heap.load(std::memory_order_relaxed) != this) return false;
    remove_at(pos_[t->heap_slot]);
    t->heap.store(nullptr, std::memory_order_release);
    publish();
  }
  timer_unref(t);
  return true;
}

int timer_heap::run_due(std::int64_t now, bool shared) {
  int fired = 0;
  for (;;) {
    constexpr int kBatch = 32;
    std::pair<timer_state*, std::uint32_t> batch[kBatch];
    int n = 0;
    {
      // Another worker firing this heap's timers fires these too: waiting for it would
      // only serialise the two (both look at every heap when they look for work).
      // (Locked by hand: the analysis does not follow std::unique_lock.)
      if (!shared) {
        lock_.lock();
      } else if (!lock_.try_lock()) {
        return fired;
      }
      // Ordered by deadline, so the timers past their deadline come first, then those of
      // the same batch that are only past their `when`.
      while (n < kBatch && !heap_.empty() &&
             (heap_.front().deadline <= now || heap_.front().when <= now)) {
        timer_state* t = heap_.front().t;
        const std::uint32_t seq = heap_.front().seq;
        remove_at(0);
        t->heap.store(nullptr, std::memory_order_release);
        t->sending.fetch_add(1, std::memory_order_relaxed);
        batch[n++] = {t, seq};
      }
      publish();
      lock_.unlock();
    }
    bool readied = false;
    for (int i = 0; i < n; ++i) readied |= deliver(batch[i].first, batch[i].second, now);
    if (readied) wake_idle_worker();
    fired += n;
    if (n < kBatch) return fired;
  }
}

void timer_heap::clear() noexcept {
  std::vector<entry> dropped;
  {
    spin_guard lock(lock_);
    for (const entry& e : heap_) e.t->heap.store(nullptr, std::memory_order_release);
    dropped.swap(heap_);
    pos_.clear();
    free_slot_ = kNoSlot;
    publish();
  }
  for (const entry& e : dropped) timer_unref(e.t);
}

void timer_heap::sift_up(std::size_t i) noexcept {
  const entry e = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (heap_[parent].deadline <= e.deadline) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, e);
}

void timer_heap::sift_down(std::size_t i) noexcept {
  const std::size_t n = heap_.size();
  const entry e = heap_[i];
  for (;;) {
    const std::size_t first = kArity * i + 1;
    if (first >= n) break;
    std::size_t min = first;
    for (std::size_t c = first + 1; c < std::min(first + kArity, n); ++c) {
      if (heap_[c].deadline < heap_[min].deadline) min = c;
    }
    if (e.deadline <= heap_[min].deadline) break;
    place(i, heap_[min]);
    i = min;
  }
  place(i, e);
}

void timer_heap::remove_at(std::size_t i) noexcept {
  const std::uint32_t freed = heap_[i].slot;
  pos_[freed] = free_slot_;
  free_slot_ = freed;
  const entry last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  place(i, last);
  sift_down(i);
  sift_up(pos_[last.slot]);
}

void timer_heap::publish() noexcept {
  earliest_.store(heap_.empty() ? INT64_MAX : heap_.front().deadline, std::memory_order_seq_cst);
}

bool background_timer_thread_started() noexcept {
  return background_timers::get().started.load(std::memory_order_acquire);
}

bool background_timers_pending() noexcept {
  return background_timers::get().heap.earliest() != INT64_MAX;
}

// ---------------------------------------------------------------------------------------
// Arming and disarming

void timer_arm(timer_state* t, std::int64_t delay_ns) {
  std::lock_guard<spinlock> lock(t->mu);
  const std::int64_t now = bubble_nanotime(t->bub);
  arm_locked(t, now + std::max<std::int64_t>(delay_ns, 0), now);
}

timer_state* timer_new_chan(std::chrono::steady_clock::duration d,
                            std::chrono::steady_clock::duration period, chan_core* c) {
  auto* t = new timer_state;
  t->kind = timer_kind::send_time;
  t->bub = current_bubble();
  chan_retain(c);
  t->c = c;
  t->period = to_ns(period);
  timer_arm(t, to_ns(d));
  return t;
}

timer_state* timer_new_func(std::chrono::steady_clock::duration d, task f) {
  auto* t = new timer_state;
  t->kind = timer_kind::run_func;
  t->bub = current_bubble();
  t->f = std::move(f);
  timer_arm(t, to_ns(d));
  return t;
}

namespace {

// Cancels whatever t had prepared (under t->mu): a pending firing, one under way, and
// (Go 1.23) a value sent but not yet received, which counts as not fired and is drained.
// Returns whether anything was cancelled.
bool cancel_locked(timer_state* t) noexcept {
  t->seq.fetch_add(1, std::memory_order_acq_rel);
  bool pending = unarm_locked(t);
  if (t->period == 0 && t->sending.load(std::memory_order_acquire) > 0) pending = true;
  if (t->c && chan_drain(t->c) > 0) pending = true;
  return pending;
}

}  // namespace

bool timer_stop(timer_state* t) noexcept {
  std::lock_guard<spinlock> lock(t->mu);
  return cancel_locked(t);
}

bool timer_reset(timer_state* t, std::chrono::steady_clock::duration d,
                 std::chrono::steady_clock::duration period) noexcept {
  std::lock_guard<spinlock> lock(t->mu);
  const bool pending = cancel_locked(t);
  t->period = to_ns(period);
  const std::int64_t now = bubble_nanotime(t->bub);
  arm_locked(t, now + std::max<std::int64_t>(to_ns(d), 0), now);
  return pending;
}

void timer_set_call(timer_state* t, std::int64_t when, std::uint64_t seq) {
  std::lock_guard<spinlock> lock(t->mu);
  cancel_locked(t);
  t->call_seq = seq;
  if (when != 0) arm_locked(t, when, nanotime());
}

void timer_release(timer_state* t) noexcept {
  timer_unref(t);
}

}  // namespace goro::detail

// ---------------------------------------------------------------------------------------
// time.hpp

namespace goro {

namespace {

struct sleep_arm {
  detail::timer_state* t;
  std::int64_t delay;
};

}  // namespace

void sleep(clock::duration d) {
  if (d <= clock::duration::zero()) return;
  detail::g* gp = detail::current_g();
  if (gp->is_thread) {
    std::this_thread::sleep_for(d);
    return;
  }
  detail::timer_state t;
  t.kind = detail::timer_kind::wake;
  t.gp = gp;
  t.bub = detail::bubble_of(gp);
  sleep_arm arm{&t, detail::to_ns(d)};
  // Armed only once this goroutine is off its stack, so the wake-up cannot come too early.
  detail::park(
      gp,
      [](void* a) {
        auto* s = static_cast<sleep_arm*>(a);
        detail::timer_arm(s->t, s->delay);
      },
      &arm, detail::wait_reason::sleep);
  bool fired;
  {
    std::lock_guard<detail::spinlock> lock(t.mu);
    fired = t.fired;
  }
  if (!fired) {
    detail::timer_stop(&t);
    // Wait for a firing that is under way to finish with t before it goes out of scope.
    while (t.sending.load(std::memory_order_acquire) > 0) std::this_thread::yield();
    if (detail::must_unwind(gp)) throw detail::goroutine_exit{};
  }
  detail::unwind_if_exiting(gp);
}

namespace {

// A timer's channel: capacity 1 inside, unbuffered to len() and cap() (see chan_core::timer).
chan<clock::time_point> make_timer_chan() {
  auto c = make_chan<clock::time_point>(1);
  detail::chan_access::core(c)->timer = true;
  return c;
}

}  // namespace

timer::timer(clock::duration d) {
  c_ = make_timer_chan();
  t_ = detail::timer_new_chan(d, {}, detail::chan_access::core(c_));
}

recv_chan<clock::time_point> after(clock::duration d) {
  timer t(d);
  return t.c();
}

recv_chan<clock::time_point> tick(clock::duration d) {
  if (d <= clock::duration::zero()) return {};  // Go: nil
  auto c = make_timer_chan();
  detail::chan_core* core = detail::chan_access::core(c);
  // The channel owns the ticker (its one reference), the ticker points back uncounted: when
  // the last handle goes, chan_destroy stops and frees it (chan_core::ticker).
  auto* t = new detail::timer_state;
  t->kind = detail::timer_kind::send_time;
  t->c = core;
  t->c_owns_timer = true;
  t->bub = detail::current_bubble();
  t->period = detail::to_ns(d);
  core->ticker = t;
  detail::timer_arm(t, detail::to_ns(d));
  return c;
}

ticker::ticker(clock::duration d) {
  if (d <= clock::duration::zero()) throw panic_error("non-positive interval for NewTicker");
  c_ = make_timer_chan();
  t_ = detail::timer_new_chan(d, d, detail::chan_access::core(c_));
}

void ticker::reset(clock::duration d) {
  if (d <= clock::duration::zero()) throw panic_error("non-positive interval for Ticker.Reset");
  if (t_) detail::timer_reset(t_, d, d);
}

}  // namespace goro
