// netfd: one socket shared by the conn and listener handles that copy it (Go's netFD with
// internal/poll.FD and its fdMutex).
//
// Invariants:
// - fd_ is non-blocking and close-on-exec, and registered with the poller as pd_ from the
//   constructor until destroy(); it is closed right after poll_close(pd_), exactly once.
// - state_ counts the operations in flight (low bits) and holds kClosing once close() has
//   run. An operation starts only while kClosing is clear (acquire()); whoever brings the
//   count to 0 with kClosing set, close() or the last operation, calls destroy(). So fd_ is
//   never closed (and its number never reused) under a running system call.
// - At most one goroutine waits per direction, as the poller requires: readers hold rmu_
//   around their attempt and wait, writers wmu_ (Go's fdMutex read and write locks).
// - close() calls poll_evict before anything else, so a waiter wakes with `closed` and a
//   later attempt fails at poll_prepare; the waiter's release then destroys the socket.
//   The close() that set kClosing then waits on destroyed_ until that has happened, as Go's
//   Close waits on fd.csema: when it returns, the descriptor is closed, so a listener's
//   port refuses new connections at once instead of resetting them later.
// - laddr_, raddr_, net_, stream_ and tcp_ are set once, before the netfd is shared, and never
//   change. An IP endpoint is kept as its sockaddr alone (stored_addr), its network being
//   net_'s.
#pragma once

#include <goro/net.hpp>
#include <goro/sync.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

// The runtime's internal poller API: net is the layer right above the runtime. The one
// internal runtime header the net layer includes, by relative path, since the net library
// is compiled without runtime/src on its include path (net/meson.build).
#include "../../runtime/src/netpoll.hpp"
#include "errors.hpp"

namespace goro::net::detail {

// A clock::time_point as the poller's deadline: 0 for none, at least 1 otherwise.
std::int64_t to_deadline(clock::time_point t) noexcept;

// The error of a poll_result that is not `ready`.
std::error_code poll_error(goro::detail::poll_result r) noexcept;

// An endpoint as a netfd keeps it: an IP sockaddr inline, in 32 bytes where an addr takes
// 168 (a sockaddr_storage-sized buffer and a network string). A connection holds two, and
// in bench/net's idle row they were ~330 of its ~830 bytes of state; anything else (a
// unix path) is an addr on the heap.
class stored_addr {
 public:
  void set(const addr& a, const std::string& net);
  addr get(const std::string& net) const;

 private:
  std::unique_ptr<addr> other_;           // a unix address, or one whose network is not net's
  std::uint8_t size_ = 0;                 // of the inline sockaddr; 0: see other_, or empty
  alignas(4) unsigned char sa_[28] = {};  // a sockaddr_in or sockaddr_in6
};

class netfd {
 public:
  // Takes ownership of fd (non-blocking, close-on-exec) and registers it with the poller.
  // On failure closes fd and throws std::system_error (or std::logic_error outside run).
  netfd(int fd, std::string net);
  ~netfd();
  netfd(const netfd&) = delete;
  netfd& operator=(const netfd&) = delete;

  int fd() const noexcept { return fd_; }
  goro::detail::poll_desc* pd() const noexcept { return pd_; }
  const std::string& net() const noexcept { return net_; }
  addr laddr() const { return laddr_.get(net_); }
  addr raddr() const { return raddr_.get(net_); }
  void set_laddr(const addr& a) { laddr_.set(a, net_); }  // before sharing
  void set_raddr(const addr& a) { raddr_.set(a, net_); }  // before sharing
  bool unlink_on_close = false;  // a unix listener removes its socket file on close

  // An operation in flight: holds the socket open; false when closed.
  class op {
   public:
    explicit op(netfd* f) noexcept : f_(f), ok_(f && f->acquire()) {}
    ~op() {
      if (ok_) f_->release();
    }
    op(const op&) = delete;
    op& operator=(const op&) = delete;
    explicit operator bool() const noexcept { return ok_; }

   private:
    netfd* f_;
    bool ok_;
  };

  // The system-call loops, each under its direction's lock. They return the error instead
  // of throwing it; `call` receives the system call's name when the error came from it.
  std::size_t read(std::span<std::byte> buf, std::error_code& ec, const char*& call);
  std::size_t write(std::span<const std::byte> data, std::error_code& ec, const char*& call);
  int accept(void* sa, std::uint32_t* len, std::error_code& ec);
  // One datagram in (its sender's sockaddr into sa) or out (to `to`).
  std::size_t read_from(std::span<std::byte> buf, void* sa, std::uint32_t* len,
                        std::error_code& ec);
  void write_to(std::span<const std::byte> data, const addr& to, std::error_code& ec);
  // Connects (the socket is fresh): waits for the connection under the write deadline.
  void connect(const addr& to, std::error_code& ec);

  // Blocks (parks) only while operations that it woke let go; throws only what a blocking
  // call throws when shutdown unwinds the goroutine. Never waits from the destructor, nor
  // with wait = false (a dial's canceller: the dialing goroutine destroys as it lets go).
  void close(bool wait = true);
  void set_deadline(goro::detail::poll_mode mode, clock::time_point t, std::error_code& ec);

 private:
  static constexpr std::uint64_t kClosing = std::uint64_t{1} << 63;

  bool acquire() noexcept;
  void release() noexcept;
  void destroy() noexcept;
  // Waits for direction `mode` after EAGAIN; the error when it did not become ready.
  // `scratch`: the buffer of the read that waits, which the wait may clobber (poll_wait).
  std::error_code wait(goro::detail::poll_mode mode, std::span<std::byte> scratch = {});
  // read() with the io_uring back end, under rmu_.
  std::size_t ring_read(std::span<std::byte> buf, std::error_code& ec, const char*& call);
  // One recv or send through the io_uring ring, under the direction's lock.
  std::size_t ring_io(goro::detail::poll_mode mode, std::byte* buf, std::size_t len,
                      std::error_code& ec, const char*& call);

  int fd_;
  goro::detail::poll_desc* pd_ = nullptr;
  std::string net_;
  stored_addr laddr_, raddr_;
  bool stream_;  // a byte stream (tcp, unix): its recv and send may use the ring
  bool tcp_;     // a TCP stream: a short read drained it (see read())
  // Under rmu_: the last read was short. Only read() on a TCP socket acts on it; ring_read()
  // keeps it up to date for such a read.
  bool drained_ = false;
  std::atomic<std::uint64_t> state_{0};
  goro::mutex rmu_, wmu_;
  goro::wait_group destroyed_;  // 1 until destroy(): what a close() waits on
};

}  // namespace goro::net::detail
