// The channel model shared by random_test.cpp (doctest, decisions from a seeded generator) and
// fuzz_chan.cpp (libFuzzer, decisions from the input bytes).
//
// A few "actor" goroutines run a script of channel operations on a few channel *slots*: plain
// send/recv (through chan, send_chan, recv_chan and the range iterator), selects with a
// timeout, with a default, or blocking, over one or more cases (nil channels and the same
// channel twice included), close, and "reopen" (put a fresh channel in the slot, close the old
// one and drain it with range-for). The main goroutine waits for the actors and, whenever
// nothing has happened for a tick, "helps" with one select-with-default over every slot, so
// that an actor blocked in a plain send or receive is always eventually released: a correct
// runtime always finishes, and only a broken one reaches the deadline.
//
// Nothing is checked while goroutines run: each actor writes what it saw into its own log
// (plain data, no doctest calls: doctest's thread_local state breaks when a fiber changes
// threads), and verify() checks the logs after goro::run has returned:
//
// - Exact accounting. Every value carries a unique (sender, seq). A send that completed
//   (send() returned, or select returned its index) is logged by the sender; a send that
//   threw or whose select chose another case is not. At the end main closes and drains every
//   channel ever made, so each logged value must have been received exactly once, and no
//   other value at all.
// - FIFO. If a sender's send of a completes before its send of b begins on the same channel,
//   Go puts a in the buffer (or hands it to a receiver) first, and the buffer and the queue of
//   blocked senders are FIFO, so a leaves the channel first. A single receiver's receives are
//   sequential, so any one receiver that gets both must get a first. (Across receivers there
//   is no common clock to compare with, so that is all one can check soundly.)
// - Closes. A receive that returns nullopt, or a send that throws, happens only on a channel
//   whose close() has begun; once a receive has returned nullopt, no later receive on that
//   channel returns a value (closed and drained stays drained) and len() is 0. A send (or a
//   select send case) that begins after close() returned must throw "send on closed channel";
//   a second close throws "close of closed channel", close of a nil channel "close of nil
//   channel"; exactly one close per channel succeeds. A select with a default never takes the
//   default when one of its channels was already closed (a closed channel's case is ready:
//   the receive gets nullopt, the send panics, as in Go's selectgo).
// - Select: the returned index's callback ran (and no other), a nil channel's case never
//   fires, the value of a receive case belongs to that case's channel.
// - len() <= cap() == the capacity it was made with.
// - num_goroutine() is 1 when main starts and comes back to 1 at the end.
#pragma once

#include <goro/goro.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace goro_model {

using namespace std::chrono_literals;
using goro::clock;

// A value in flight: (sender, seq) is unique; chan_id names the channel it was sent on.
struct val {
  std::uint32_t sender;
  std::uint32_t seq;
  std::uint32_t chan_id;
};
// Channels carry unique_ptr so that the element type is move-only (the runtime must never
// copy) and, under AddressSanitizer, a duplicated value is a double free and a lost one a leak.
using item = std::unique_ptr<val>;

inline std::uint64_t key_of(std::uint32_t sender, std::uint32_t seq) {
  return (std::uint64_t{sender} << 32) | seq;
}

// Where an actor's decisions come from. Each actor owns one, so that a script does not depend
// on how the actors interleave (what it operates on still does).
class source {
 public:
  virtual ~source() = default;
  // Whether the script has another operation.
  virtual bool more() = 0;
  // A choice in [0, n).
  virtual std::uint32_t pick(std::uint32_t n) = 0;
};

inline std::uint64_t splitmix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// `steps` operations decided by a seeded generator.
class rng_source final : public source {
 public:
  rng_source(std::uint64_t seed, std::uint64_t steps) : s_(seed), left_(steps) {}
  bool more() override {
    if (left_ == 0) return false;
    --left_;
    return true;
  }
  std::uint32_t pick(std::uint32_t n) override {
    return static_cast<std::uint32_t>(splitmix64(s_) % n);
  }

 private:
  std::uint64_t s_;
  std::uint64_t left_;
};

struct config {
  unsigned threads = 1;
  unsigned actors = 4;                                             // goroutines besides main
  std::vector<std::size_t> initial_caps = {0, 2};                  // one per slot
  std::vector<std::size_t> caps = {0, 0, 1, 3};                    // what a reopen picks from
  std::vector<clock::duration> waits = {0us, 10us, 100us, 500us};  // select timeouts
  clock::duration help_tick = 200us;  // main helps after this long without an actor finishing
  clock::duration deadline = 20s;     // past this, the run counts as hung
  std::size_t max_errors = 20;        // per log, so that a broken runtime does not flood memory
  // options::seed for the run: the scheduler's and select's random choices (steal victims,
  // poll orders, which ready goroutine runs next) come from it, so one seed fixes them too.
  std::optional<std::uint64_t> sched_seed;
};

// What the operations are, for the logs and hang reports.
enum class op : int {
  idle,
  send,
  recv,
  send_timeout,
  recv_timeout,
  send_default,
  recv_default,
  select,
  close,
  reopen,
  yield,
  sleep,
  len_cap,
  close_nil,
  help,
  finish,
  final_drain,
};
inline const char* op_name(int o) {
  static const char* const names[] = {
      "idle",         "send",      "recv",  "send_timeout", "recv_timeout", "send_default",
      "recv_default", "select",    "close", "reopen",       "yield",        "sleep",
      "len_cap",      "close_nil", "help",  "finish",       "final_drain"};
  return o >= 0 && o < static_cast<int>(std::size(names)) ? names[o] : "?";
}

struct stats {
  std::uint64_t sends = 0, send_panics = 0, recvs = 0, recv_closed = 0, timeouts = 0, defaults = 0,
                closes = 0, close_panics = 0, reopens = 0, selects = 0;
  stats& operator+=(const stats& o) {
    sends += o.sends, send_panics += o.send_panics, recvs += o.recvs;
    recv_closed += o.recv_closed, timeouts += o.timeouts, defaults += o.defaults;
    closes += o.closes, close_panics += o.close_panics, reopens += o.reopens;
    selects += o.selects;
    return *this;
  }
  std::string str() const {
    return "sends " + std::to_string(sends) + ", send panics " + std::to_string(send_panics) +
           ", recvs " + std::to_string(recvs) + ", recv closed " + std::to_string(recv_closed) +
           ", timeouts " + std::to_string(timeouts) + ", defaults " + std::to_string(defaults) +
           ", closes " + std::to_string(closes) + ", close panics " + std::to_string(close_panics) +
           ", reopens " + std::to_string(reopens) + ", selects " + std::to_string(selects);
  }
};

struct received {
  std::uint32_t chan_id, sender, seq;
};

// One actor's record; written only by that actor (the op fields are read by main on a hang).
struct actor_log {
  std::vector<std::uint64_t> sent;  // keys of the values whose send completed
  std::vector<received> got;        // values received, in order
  std::vector<std::string> errors;
  stats st;
  std::atomic<int> cur_op{static_cast<int>(op::idle)};
  std::atomic<std::uint32_t> cur_chan{0};
};

// One channel ever made, with what the actors announce about it.
struct channel_rec {
  channel_rec(std::uint32_t i, std::size_t c) : id(i), cap(c), ch(goro::make_chan<item>(c)) {}
  const std::uint32_t id;
  const std::size_t cap;
  const goro::chan<item> ch;
  std::atomic<int> close_calls{0};   // close() calls begun
  std::atomic<int> closes_ok{0};     // close() calls that returned normally
  std::atomic<bool> closed{false};   // a close() has returned
  std::atomic<bool> drained{false};  // a receive has returned nullopt
};

class world {
 public:
  explicit world(config c) : cfg(std::move(c)), logs(cfg.actors + 1) {
    for (std::size_t cap : cfg.initial_caps) slots_.push_back(make_locked(cap));
  }

  unsigned num_slots() const { return static_cast<unsigned>(slots_.size()); }
  channel_rec* slot(unsigned k) {
    std::lock_guard lk(m_);
    return slots_[k];
  }
  // Puts a fresh channel in slot k and returns the old one.
  channel_rec* replace(unsigned k, std::size_t cap) {
    std::lock_guard lk(m_);
    return std::exchange(slots_[k], make_locked(cap));
  }
  std::vector<channel_rec*> all() {
    std::lock_guard lk(m_);
    std::vector<channel_rec*> v;
    for (auto& r : recs_) v.push_back(&r);
    return v;
  }

  const config cfg;
  std::deque<actor_log> logs;  // actors 0..actors-1, then main
  std::size_t start_goroutines = 0, end_goroutines = 0;
  bool hung = false;

 private:
  // std::mutex, not goro::mutex: it is held only for a few instructions, never across a
  // blocking call, so a goroutine cannot be parked (or moved) while holding it.
  channel_rec* make_locked(std::size_t cap) {
    recs_.emplace_back(static_cast<std::uint32_t>(recs_.size()), cap);
    return &recs_.back();
  }
  std::mutex m_;
  std::deque<channel_rec> recs_;  // a deque: records never move
  std::vector<channel_rec*> slots_;
};

class actor {
 public:
  actor(world& w, unsigned id, source& src) : w_(w), id_(id), log_(w.logs[id]), src_(src) {}

  void run_script() {
    while (src_.more()) step();
    set_op(op::finish, nullptr);
  }

  // Main's help: one select with a default over a receive (and, while open, a send) on every
  // slot, which releases an actor parked in a plain send or receive.
  void help() {
    set_op(op::help, nullptr);
    std::vector<goro::select_case> cases;
    std::vector<case_info> info;
    for (unsigned k = 0; k < w_.num_slots(); ++k) {
      channel_rec* c = w_.slot(k);
      add_recv(cases, info, c);
      if (!c->closed.load(std::memory_order_acquire)) add_send(cases, info, c);
    }
    cases.push_back(goro::on_default());
    info.push_back({case_info::dflt, nullptr, 0, false, false});
    perform(cases, info);
  }

  // The end: closes every channel ever made (a second close must panic) and drains it.
  void close_and_drain_all() {
    // One bound for the whole phase, so that a runtime whose closed channels block does not
    // make every channel wait in turn.
    const auto until = clock::now() + 10s;
    for (channel_rec* c : w_.all()) {
      set_op(op::final_drain, c);
      do_close(c);
      const bool drained_before = c->drained.load(std::memory_order_acquire);
      for (;;) {
        std::optional<std::optional<item>> r;
        goro::select(goro::on_recv(c->ch, [&](std::optional<item> v) { r.emplace(std::move(v)); }),
                     goro::on_recv(goro::after(std::max(until - clock::now(), clock::duration{}))));
        if (!r) {
          fail("final drain of closed channel " + std::to_string(c->id) + " timed out");
          break;
        }
        const bool end = !r->has_value();
        on_recv(c, std::move(*r), drained_before);
        if (end) break;
      }
      if (c->closes_ok.load() != 1) {
        fail("channel " + std::to_string(c->id) + " was closed successfully " +
             std::to_string(c->closes_ok.load()) + " times");
      }
    }
    set_op(op::idle, nullptr);
  }

  void fail(std::string msg) {
    if (log_.errors.size() < w_.cfg.max_errors) {
      log_.errors.push_back("actor " + std::to_string(id_) + ": " + std::move(msg));
    }
  }

 private:
  struct case_info {
    enum kind_t { send, recv, nil, timeout, dflt } kind;
    channel_rec* c;
    std::uint64_t key;    // send: the value's key
    bool closed_before;   // close() had returned when the select began
    bool drained_before;  // a receive had returned nullopt when the select began
  };

  std::uint32_t pick(std::uint32_t n) { return src_.pick(n); }
  // A slot's channel; one found closed is often replaced first, so that channels spend only
  // part of their life closed and sends do not mostly panic.
  channel_rec* pick_slot() {
    const unsigned k = pick(w_.num_slots());
    channel_rec* c = w_.slot(k);
    if (c->closed.load(std::memory_order_acquire) && pick(3) == 0) {
      reopen(k);
      c = w_.slot(k);
    }
    return c;
  }
  clock::duration pick_wait() {
    return w_.cfg.waits[pick(static_cast<std::uint32_t>(w_.cfg.waits.size()))];
  }
  std::size_t pick_cap() {
    return w_.cfg.caps[pick(static_cast<std::uint32_t>(w_.cfg.caps.size()))];
  }
  void set_op(op o, channel_rec* c) {
    log_.cur_op.store(static_cast<int>(o), std::memory_order_relaxed);
    log_.cur_chan.store(c ? c->id : 0, std::memory_order_relaxed);
  }
  item make_item(channel_rec* c) { return std::make_unique<val>(val{id_, next_seq_++, c->id}); }
  std::string ch_name(const channel_rec* c) const {
    return "channel " + std::to_string(c->id) + " (cap " + std::to_string(c->cap) + ")";
  }

  void step() {
    const std::uint32_t r = pick(100);
    if (r < 11) {
      op_send(pick_slot());
    } else if (r < 22) {
      op_recv(pick_slot());
    } else if (r < 34) {
      op_send_timeout(pick_slot());
    } else if (r < 46) {
      op_recv_timeout(pick_slot());
    } else if (r < 54) {
      op_send_default(pick_slot());
    } else if (r < 62) {
      op_recv_default(pick_slot());
    } else if (r < 85) {
      op_select();
    } else if (r < 86) {
      channel_rec* c = pick_slot();
      set_op(op::close, c);
      do_close(c);
    } else if (r < 89) {
      reopen(pick(w_.num_slots()));
    } else if (r < 94) {
      set_op(op::yield, nullptr);
      goro::yield();
    } else if (r < 96) {
      set_op(op::sleep, nullptr);
      goro::sleep(pick_wait());
    } else if (r < 99) {
      op_len_cap(pick_slot());
    } else {
      op_close_nil();
    }
    set_op(op::idle, nullptr);
  }

  // --- what a completed operation tells -------------------------------------------------

  void on_sent(channel_rec* c, std::uint64_t key, bool closed_before) {
    log_.sent.push_back(key);
    ++log_.st.sends;
    if (closed_before) {
      fail("send on " + ch_name(c) + " completed although close() had returned before it began");
    }
  }
  void on_send_panic(const goro::panic_error& e, bool someone_closed) {
    ++log_.st.send_panics;
    if (std::string_view(e.what()) != "send on closed channel") {
      fail(std::string("send threw \"") + e.what() + "\", want \"send on closed channel\"");
    }
    if (!someone_closed) fail("send threw on a channel that nobody had begun to close");
  }
  void on_recv(channel_rec* c, std::optional<item> r, bool drained_before) {
    if (r) {
      if (!*r) {
        fail("received a null item from " + ch_name(c));
        return;
      }
      const val& v = **r;
      log_.got.push_back({c->id, v.sender, v.seq});
      ++log_.st.recvs;
      if (v.chan_id != c->id) {
        fail("received from " + ch_name(c) + " a value sent on channel " +
             std::to_string(v.chan_id));
      }
      if (drained_before) {
        fail("received a value from " + ch_name(c) +
             " after a receive had returned nullopt (closed and drained)");
      }
    } else {
      ++log_.st.recv_closed;
      if (c->close_calls.load(std::memory_order_acquire) == 0) {
        fail("receive returned nullopt on " + ch_name(c) + ", which nobody had begun to close");
      }
      c->drained.store(true, std::memory_order_release);
    }
  }

  void do_close(channel_rec* c) {
    c->close_calls.fetch_add(1, std::memory_order_acq_rel);
    try {
      c->ch.close();
      c->closes_ok.fetch_add(1, std::memory_order_acq_rel);
      c->closed.store(true, std::memory_order_release);
      ++log_.st.closes;
    } catch (const goro::panic_error& e) {
      ++log_.st.close_panics;
      if (std::string_view(e.what()) != "close of closed channel") {
        fail(std::string("close threw \"") + e.what() + "\", want \"close of closed channel\"");
      }
      // Our own call is one; another must have begun (and won) before ours failed.
      if (c->close_calls.load(std::memory_order_acquire) < 2) {
        fail("close of " + ch_name(c) + " threw but no other close had begun");
      }
    }
  }

  // --- operations -------------------------------------------------------------------------

  void op_send(channel_rec* c) {
    set_op(op::send, c);
    item v = make_item(c);
    const std::uint64_t key = key_of(id_, v->seq);
    const bool closed_before = c->closed.load(std::memory_order_acquire);
    try {
      if (pick(2)) {
        c->ch.send(std::move(v));
      } else {
        goro::send_chan<item> s = c->ch;
        s.send(std::move(v));
      }
      on_sent(c, key, closed_before);
    } catch (const goro::panic_error& e) {
      on_send_panic(e, c->close_calls.load(std::memory_order_acquire) > 0);
    }
  }

  void op_recv(channel_rec* c) {
    set_op(op::recv, c);
    const bool drained_before = c->drained.load(std::memory_order_acquire);
    std::optional<item> r;
    switch (pick(3)) {
      case 0:
        r = c->ch.recv();
        break;
      case 1: {
        goro::recv_chan<item> rc = c->ch;
        r = rc.recv();
        break;
      }
      default: {
        // One step of range-for: begin() receives, and equals end() once closed and drained.
        auto it = c->ch.begin();
        if (it != c->ch.end()) r.emplace(*it);
        break;
      }
    }
    on_recv(c, std::move(r), drained_before);
  }

  void op_send_timeout(channel_rec* c) {
    set_op(op::send_timeout, c);
    item v = make_item(c);
    const std::uint64_t key = key_of(id_, v->seq);
    const bool closed_before = c->closed.load(std::memory_order_acquire);
    const bool with_cb = pick(2);
    const clock::duration d = pick_wait();
    bool ran = false;
    try {
      bool sent = false;
      if (with_cb) {
        sent = goro::select(goro::on_send(c->ch, std::move(v), [&] { ran = true; }),
                            goro::on_recv(goro::after(d))) == 0;
      } else {  // the other order, for variety
        sent = goro::select(goro::on_recv(goro::after(d)), goro::on_send(c->ch, std::move(v))) == 1;
      }
      if (sent) {
        on_sent(c, key, closed_before);
        if (with_cb && !ran) fail("select chose the send case but did not run its callback");
      } else {
        ++log_.st.timeouts;
        if (ran) fail("select timed out but ran the send case's callback");
      }
    } catch (const goro::panic_error& e) {
      on_send_panic(e, c->close_calls.load(std::memory_order_acquire) > 0);
    }
  }

  void op_recv_timeout(channel_rec* c) {
    set_op(op::recv_timeout, c);
    const bool drained_before = c->drained.load(std::memory_order_acquire);
    std::optional<item> got;
    bool ran = false;
    const std::size_t i = goro::select(goro::on_recv(c->ch,
                                                     [&](std::optional<item> r) {
                                                       got = std::move(r);
                                                       ran = true;
                                                     }),
                                       goro::on_recv(goro::after(pick_wait())));
    if (i == 0) {
      if (!ran) fail("select chose the receive case but did not run its callback");
      on_recv(c, std::move(got), drained_before);
    } else {
      ++log_.st.timeouts;
      if (ran) fail("select timed out but ran the receive case's callback");
    }
  }

  void op_send_default(channel_rec* c) {
    set_op(op::send_default, c);
    item v = make_item(c);
    const std::uint64_t key = key_of(id_, v->seq);
    const bool closed_before = c->closed.load(std::memory_order_acquire);
    try {
      if (goro::select(goro::on_send(c->ch, std::move(v)), goro::on_default()) == 0) {
        on_sent(c, key, closed_before);
      } else {
        ++log_.st.defaults;
        if (closed_before) {
          fail("select took the default although its send case's " + ch_name(c) +
               " was closed (ready: it must panic)");
        }
      }
    } catch (const goro::panic_error& e) {
      on_send_panic(e, c->close_calls.load(std::memory_order_acquire) > 0);
    }
  }

  void op_recv_default(channel_rec* c) {
    set_op(op::recv_default, c);
    const bool closed_before = c->closed.load(std::memory_order_acquire);
    const bool drained_before = c->drained.load(std::memory_order_acquire);
    std::optional<item> got;
    bool ran_default = false;
    const std::size_t i =
        goro::select(goro::on_default([&] { ran_default = true; }),
                     goro::on_recv(c->ch, [&](std::optional<item> r) { got = std::move(r); }));
    if (i == 1) {
      if (ran_default) fail("select chose the receive case but ran the default's callback");
      on_recv(c, std::move(got), drained_before);
    } else {
      ++log_.st.defaults;
      if (!ran_default) fail("select took the default but did not run its callback");
      if (closed_before) {
        fail("select took the default although its receive case's " + ch_name(c) +
             " was closed (ready)");
      }
    }
  }

  void add_send(std::vector<goro::select_case>& cases, std::vector<case_info>& info,
                channel_rec* c) {
    const bool closed_before = c->closed.load(std::memory_order_acquire);
    item v = make_item(c);
    const std::uint64_t key = key_of(id_, v->seq);
    cases.push_back(goro::on_send(c->ch, std::move(v)));
    info.push_back({case_info::send, c, key, closed_before, false});
  }
  void add_recv(std::vector<goro::select_case>& cases, std::vector<case_info>& info,
                channel_rec* c) {
    const bool closed_before = c->closed.load(std::memory_order_acquire);
    const bool drained_before = c->drained.load(std::memory_order_acquire);
    cases.push_back(goro::on_recv(c->ch));
    info.push_back({case_info::recv, c, 0, closed_before, drained_before});
  }

  // The dynamic select (reflect.Select): 1-3 cases on random slots (maybe the same channel
  // twice), maybe a nil channel's case, and a default, a timeout or nothing, in random order.
  void op_select() {
    set_op(op::select, nullptr);
    std::vector<goro::select_case> cases;
    std::vector<case_info> info;
    const unsigned n = 1 + pick(3);
    for (unsigned i = 0; i < n; ++i) {
      if (pick(2)) {
        add_send(cases, info, pick_slot());
      } else {
        add_recv(cases, info, pick_slot());
      }
    }
    if (pick(6) == 0) {
      const goro::chan<item> nil;
      if (pick(2)) {
        cases.push_back(goro::on_recv(nil));
      } else {
        cases.push_back(goro::on_send(nil, item{}));
      }
      info.push_back({case_info::nil, nullptr, 0, false, false});
    }
    switch (pick(4)) {
      case 0:
        cases.push_back(goro::on_default());
        info.push_back({case_info::dflt, nullptr, 0, false, false});
        break;
      case 1:
      case 2:
        cases.push_back(goro::on_recv(goro::after(pick_wait())));
        info.push_back({case_info::timeout, nullptr, 0, false, false});
        break;
      default:  // blocks until a case is ready; main's help guarantees one will be
        break;
    }
    for (std::size_t i = cases.size(); i > 1; --i) {
      const std::size_t j = pick(static_cast<std::uint32_t>(i));
      std::swap(cases[i - 1], cases[j]);
      std::swap(info[i - 1], info[j]);
    }
    perform(cases, info);
  }

  void perform(std::vector<goro::select_case>& cases, std::vector<case_info>& info) {
    ++log_.st.selects;
    std::size_t i = 0;
    try {
      i = goro::select(std::span<goro::select_case>(cases));
    } catch (const goro::panic_error& e) {
      bool someone_closed = false;
      for (const case_info& ci : info) {
        if (ci.kind == case_info::send && ci.c->close_calls.load(std::memory_order_acquire) > 0) {
          someone_closed = true;
        }
      }
      on_send_panic(e, someone_closed);
      return;
    }
    if (i >= cases.size()) {
      fail("select returned index " + std::to_string(i) + " of " + std::to_string(cases.size()));
      return;
    }
    const case_info& ci = info[i];
    switch (ci.kind) {
      case case_info::send:
        on_sent(ci.c, ci.key, ci.closed_before);
        break;
      case case_info::recv:
        on_recv(ci.c, cases[i].received<item>(), ci.drained_before);
        break;
      case case_info::nil:
        fail("select chose a nil channel's case");
        break;
      case case_info::timeout:
        ++log_.st.timeouts;
        break;
      case case_info::dflt:
        ++log_.st.defaults;
        for (const case_info& o : info) {
          if ((o.kind == case_info::send || o.kind == case_info::recv) && o.closed_before) {
            fail("select took the default although the case on " + ch_name(o.c) +
                 " was ready (the channel was closed)");
            break;
          }
        }
        break;
    }
  }

  // Puts a fresh channel in a slot, closes the old one and drains it with range-for (which
  // ends only once the channel is closed and empty).
  void reopen(unsigned k) {
    channel_rec* old = w_.replace(k, pick_cap());
    set_op(op::reopen, old);
    ++log_.st.reopens;
    do_close(old);
    const bool drained_before = old->drained.load(std::memory_order_acquire);
    for (item v : old->ch) on_recv(old, std::optional<item>(std::move(v)), drained_before);
    on_recv(old, std::nullopt, drained_before);
  }

  void op_len_cap(channel_rec* c) {
    set_op(op::len_cap, c);
    const bool drained_before = c->drained.load(std::memory_order_acquire);
    const goro::recv_chan<item> rc = c->ch;
    const goro::send_chan<item> sc = c->ch;
    const std::size_t len = pick(2) ? rc.len() : sc.len();
    if (c->ch.cap() != c->cap || rc.cap() != c->cap || sc.cap() != c->cap) {
      fail("cap() of " + ch_name(c) + " is " + std::to_string(c->ch.cap()));
    }
    if (len > c->cap) fail("len() of " + ch_name(c) + " is " + std::to_string(len));
    if (drained_before && len != 0) {
      fail("len() of " + ch_name(c) + " is " + std::to_string(len) +
           " after a receive returned nullopt");
    }
  }

  void op_close_nil() {
    set_op(op::close_nil, nullptr);
    try {
      goro::chan<item>{}.close();
      fail("close of a nil channel did not throw");
    } catch (const goro::panic_error& e) {
      if (std::string_view(e.what()) != "close of nil channel") {
        fail(std::string("close(nil) threw \"") + e.what() + "\"");
      }
    }
  }

  world& w_;
  const std::uint32_t id_;
  actor_log& log_;
  source& src_;
  std::uint32_t next_seq_ = 0;
};

// The main goroutine: starts the actors, helps them along, and when they have finished (or the
// deadline passed) closes and drains everything and waits for the goroutines to end. `srcs`
// holds one source per actor, then main's.
inline void main_goroutine(world& w, std::span<source* const> srcs) {
  w.start_goroutines = goro::num_goroutine();
  const unsigned n = w.cfg.actors;
  const goro::chan<goro::unit> finished = goro::make_chan<goro::unit>(n);
  for (unsigned i = 0; i < n; ++i) {
    goro::go([&w, i, src = srcs[i], finished] {
      actor a(w, i, *src);
      a.run_script();
      finished.send(goro::unit{});
    });
  }
  actor self(w, n, *srcs[n]);
  const auto deadline = clock::now() + w.cfg.deadline;
  unsigned done = 0;
  while (done < n) {
    if (clock::now() > deadline) {
      w.hung = true;
      std::string what = "hung: " + std::to_string(n - done) + " of " + std::to_string(n) +
                         " actors unfinished after the deadline;";
      for (unsigned i = 0; i < n; ++i) {
        const int o = w.logs[i].cur_op.load(std::memory_order_relaxed);
        if (o == static_cast<int>(op::finish)) continue;
        what += " actor " + std::to_string(i) + " in " + op_name(o) + " on channel " +
                std::to_string(w.logs[i].cur_chan.load(std::memory_order_relaxed)) + ";";
      }
      self.fail(what);
      break;
    }
    if (goro::select(goro::on_recv(finished), goro::on_recv(goro::after(w.cfg.help_tick))) == 0) {
      ++done;
    } else {
      self.help();
    }
  }
  self.close_and_drain_all();
  // Goroutines that have sent `finished` may still be returning.
  const auto until = clock::now() + (w.hung ? 1s : 10s);
  while (goro::num_goroutine() > 1 && clock::now() < until) goro::sleep(1ms);
  w.end_goroutines = goro::num_goroutine();
}

// Checks the logs once goro::run has returned. Returns the violations found (empty: none).
inline std::vector<std::string> verify(world& w) {
  std::vector<std::string> errs;
  auto add = [&](std::string s) {
    if (errs.size() < 60) errs.push_back(std::move(s));
  };
  for (const actor_log& l : w.logs) {
    for (const std::string& e : l.errors) add(e);
  }
  if (w.start_goroutines != 1) {
    add("num_goroutine() was " + std::to_string(w.start_goroutines) + " when main started");
  }
  if (w.end_goroutines != 1) {
    add("num_goroutine() is " + std::to_string(w.end_goroutines) + " at the end, want 1");
  }
  if (w.hung) return errs;  // the accounting below would only repeat the hang

  // Exact accounting: each completed send received exactly once, nothing else received.
  std::unordered_map<std::uint64_t, unsigned> count;
  for (const actor_log& l : w.logs) {
    for (std::uint64_t k : l.sent) {
      if (!count.emplace(k, 0).second) add("value " + std::to_string(k) + " logged as sent twice");
    }
  }
  for (std::size_t r = 0; r < w.logs.size(); ++r) {
    for (const received& g : w.logs[r].got) {
      auto it = count.find(key_of(g.sender, g.seq));
      if (it == count.end()) {
        add("actor " + std::to_string(r) + " received value (sender " + std::to_string(g.sender) +
            ", seq " + std::to_string(g.seq) + ") from channel " + std::to_string(g.chan_id) +
            ", whose send did not complete");
      } else {
        ++it->second;
      }
    }
  }
  std::size_t lost = 0, dup = 0;
  for (const auto& [k, c] : count) {
    if (c == 0 && lost++ < 5) {
      add("value (sender " + std::to_string(k >> 32) + ", seq " + std::to_string(k & 0xffffffff) +
          ") was sent but never received: lost");
    }
    if (c > 1 && dup++ < 5) {
      add("value (sender " + std::to_string(k >> 32) + ", seq " + std::to_string(k & 0xffffffff) +
          ") was received " + std::to_string(c) + " times");
    }
  }
  if (lost) add(std::to_string(lost) + " values lost in all");
  if (dup) add(std::to_string(dup) + " values duplicated in all");

  // FIFO per (channel, sender) at each receiver.
  for (std::size_t r = 0; r < w.logs.size(); ++r) {
    std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> last;
    for (const received& g : w.logs[r].got) {
      auto [it, fresh] = last.try_emplace({g.chan_id, g.sender}, g.seq);
      if (!fresh) {
        if (g.seq <= it->second) {
          add("FIFO: actor " + std::to_string(r) + " received from channel " +
              std::to_string(g.chan_id) + " sender " + std::to_string(g.sender) + "'s seq " +
              std::to_string(g.seq) + " after its seq " + std::to_string(it->second));
        }
        it->second = g.seq;
      }
    }
  }
  return errs;
}

inline stats total_stats(const world& w) {
  stats s;
  for (const actor_log& l : w.logs) s += l.st;
  return s;
}

// One complete run: `srcs` holds cfg.actors + 1 sources (the last is main's).
inline std::vector<std::string> run_model(world& w, std::span<source* const> srcs) {
  goro::options opts{.threads = w.cfg.threads};
  opts.seed = w.cfg.sched_seed;
  goro::run(opts, [&] { main_goroutine(w, srcs); });
  return verify(w);
}

}  // namespace goro_model
