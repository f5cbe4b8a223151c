// Channels: goro::chan<T>, and its directional views recv_chan<T> and send_chan<T>.
//
//   auto c = goro::make_chan<int>(3);      // make(chan int, 3)
//   goro::go([c] { c.send(1); c.close(); });
//   for (int v : c) std::cout << v;        // for v := range c
//   std::optional<int> v = c.recv();       // v, ok := <-c   (nullopt: closed and drained)
//
// A handle is a counted reference to the shared channel: copies compare equal and every
// operation is const, so capturing a handle by value works as in Go. A default-constructed
// handle is Go's nil channel: sending or receiving on it blocks forever.
//
// Direction is enforced by the type system: recv_chan has no send or close, send_chan no
// recv or range. chan<T> converts to both, as a bidirectional Go channel does.
//
// Thread safety: every operation may be called at once from any number of goroutines and
// plain threads (outside goro::run a blocking operation blocks the thread) on handles to
// the same channel. One handle object is like a std::shared_ptr: concurrent const use is
// safe; assigning to it while another thread uses that same object is a data race.
// Reference: docs/reference.md §2.
#pragma once

#include <cstddef>
#include <iterator>
#include <optional>
#include <type_traits>
#include <utility>

#include <goro/detail/chan_core.hpp>
#include <goro/panic.hpp>

namespace goro {

template <class T>
class chan;

namespace detail {

struct chan_access;

// What every channel handle has: identity, nil-ness, len and cap.
template <class T>
class chan_handle {
  static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_destructible_v<T>,
                "goro channels move their elements: T must be nothrow move-constructible");

 public:
  using value_type = T;

  // A nil channel. Copying, moving, assigning and destroying a handle never block or throw.
  chan_handle() noexcept = default;
  chan_handle(std::nullptr_t) noexcept {}
  chan_handle(const chan_handle& o) noexcept : c_(o.c_) { chan_retain(c_); }
  chan_handle(chan_handle&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  chan_handle& operator=(chan_handle o) noexcept {
    std::swap(c_, o.c_);
    return *this;
  }
  ~chan_handle() { chan_release(c_); }

  // len(c): values buffered now (a snapshot); cap(c): the capacity. 0 for a nil channel.
  // Never block or throw; any thread.
  std::size_t len() const noexcept { return c_ ? chan_len(c_) : 0; }
  std::size_t cap() const noexcept { return c_ ? chan_cap(c_) : 0; }

  // c != nil, and identity: handles are equal when they refer to the same channel.
  explicit operator bool() const noexcept { return c_ != nullptr; }
  friend bool operator==(const chan_handle& a, const chan_handle& b) noexcept {
    return a.c_ == b.c_;
  }
  friend bool operator==(const chan_handle& a, std::nullptr_t) noexcept { return !a.c_; }

 protected:
  explicit chan_handle(chan_core* adopt) noexcept : c_(adopt) {}

  void do_send(T&& v) const { chan_send(c_, std::addressof(v)); }
  std::optional<T> do_recv() const {
    slot<T> s;
    if (!chan_recv(c_, std::addressof(s.value))) return std::nullopt;
    std::optional<T> r(std::in_place, std::move(s.value));
    s.value.~T();
    return r;
  }
  void do_close() const { chan_close(c_); }

  chan_core* c_ = nullptr;
  friend struct chan_access;
};

// Range-for over a channel: receives until the channel is closed and drained. The
// element is handed out as T&&, so `for (T v : c)` moves each value out. begin() and each
// ++ block as recv() does. An iterator serves one loop in one goroutine; several
// goroutines may range over the same channel, each with its own loop.
template <class T>
class chan_iterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = T;
  using difference_type = std::ptrdiff_t;

  chan_iterator() = default;
  explicit chan_iterator(const chan_handle<T>* h, std::optional<T> (*recv)(const chan_handle<T>*))
      : h_(h), recv_(recv) {
    ++*this;
  }
  T&& operator*() { return std::move(*v_); }
  chan_iterator& operator++() {
    v_ = recv_(h_);
    return *this;
  }
  void operator++(int) { ++*this; }
  friend bool operator==(const chan_iterator& it, std::default_sentinel_t) { return !it.v_; }

 private:
  const chan_handle<T>* h_ = nullptr;
  std::optional<T> (*recv_)(const chan_handle<T>*) = nullptr;
  std::optional<T> v_;
};

struct chan_access {
  template <class T>
  static chan_core* core(const chan_handle<T>& h) noexcept {
    return h.c_;
  }
  template <class T>
  static chan_core* take(chan_handle<T>& h) noexcept {  // h becomes nil; the caller owns
    return std::exchange(h.c_, nullptr);
  }
  template <class T>
  static std::optional<T> recv(const chan_handle<T>* h) {
    return h->do_recv();
  }
};

}  // namespace detail

// <-chan T: receive, range, len, cap.
template <class T>
class recv_chan : public detail::chan_handle<T> {
 public:
  using detail::chan_handle<T>::chan_handle;
  recv_chan(const chan<T>& c) noexcept;
  recv_chan(chan<T>&& c) noexcept;

  // v, ok := <-c: the next value, or nullopt once the channel is closed and drained.
  // Blocks until a value is there or the channel is closed; on a nil channel, forever.
  // Throws nothing of its own. Thread-safe.
  std::optional<T> recv() const { return this->do_recv(); }
  // for v := range c (see chan_iterator): blocks as recv() does.
  detail::chan_iterator<T> begin() const {
    return detail::chan_iterator<T>(this, &detail::chan_access::recv<T>);
  }
  std::default_sentinel_t end() const noexcept { return {}; }
};

// chan<- T: send and close.
template <class T>
class send_chan : public detail::chan_handle<T> {
 public:
  using detail::chan_handle<T>::chan_handle;
  send_chan(const chan<T>& c) noexcept;
  send_chan(chan<T>&& c) noexcept;

  // c <- v: moves v into the channel. Blocks until a receiver takes it (unbuffered) or
  // there is room in the buffer; on a nil channel, forever. Throws
  // panic_error("send on closed channel") if the channel is closed, or closed while the
  // sender waits. Thread-safe.
  void send(std::type_identity_t<T> v) const { this->do_send(std::move(v)); }
  // close(c): wakes every blocked receiver (they drain the buffer, then get nullopt) and
  // every blocked sender (they throw). Never blocks. Throws panic_error("close of nil
  // channel") or panic_error("close of closed channel"). Thread-safe: one close wins.
  void close() const { this->do_close(); }
};

// chan T: both directions.
template <class T>
class chan : public detail::chan_handle<T> {
 public:
  using detail::chan_handle<T>::chan_handle;

  // c <- v: moves v into the channel. Blocks until a receiver takes it (unbuffered) or
  // there is room in the buffer; on a nil channel, forever. Throws
  // panic_error("send on closed channel") if the channel is closed, or closed while the
  // sender waits. Thread-safe.
  void send(std::type_identity_t<T> v) const { this->do_send(std::move(v)); }
  // v, ok := <-c: the next value, or nullopt once the channel is closed and drained.
  // Blocks until a value is there or the channel is closed; on a nil channel, forever.
  // Throws nothing of its own. Thread-safe.
  std::optional<T> recv() const { return this->do_recv(); }
  // close(c): wakes every blocked receiver (they drain the buffer, then get nullopt) and
  // every blocked sender (they throw). Never blocks. Throws panic_error("close of nil
  // channel") or panic_error("close of closed channel"). Thread-safe: one close wins.
  void close() const { this->do_close(); }
  // for v := range c (see chan_iterator): blocks as recv() does.
  detail::chan_iterator<T> begin() const {
    return detail::chan_iterator<T>(this, &detail::chan_access::recv<T>);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  template <class U>
  friend chan<U> make_chan(std::size_t);
  friend class recv_chan<T>;
  friend class send_chan<T>;
  using detail::chan_handle<T>::c_;
};

template <class T>
recv_chan<T>::recv_chan(const chan<T>& c) noexcept : detail::chan_handle<T>(c) {}
template <class T>
recv_chan<T>::recv_chan(chan<T>&& c) noexcept : detail::chan_handle<T>(std::move(c)) {}
template <class T>
send_chan<T>::send_chan(const chan<T>& c) noexcept : detail::chan_handle<T>(c) {}
template <class T>
send_chan<T>::send_chan(chan<T>&& c) noexcept : detail::chan_handle<T>(std::move(c)) {}

// make(chan T) and make(chan T, cap): unbuffered for cap 0, else a FIFO of cap values.
// Never blocks. Throws panic_error("makechan: size out of range") for a capacity too large
// (cap times the element's size over 1 TiB, or beyond the ring's limit), or
// std::bad_alloc. Thread-safe.
template <class T>
chan<T> make_chan(std::size_t cap = 0) {
  chan<T> c;
  c.c_ = detail::chan_make(&detail::elem_ops_for<T>, cap);
  return c;
}

}  // namespace goro
