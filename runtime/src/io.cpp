// goro::io::wait_readable and wait_writable: a goroutine registers the descriptor with the
// poller for the duration of one wait (poll_open ... poll_close), since goro does not own
// the descriptor and cannot know when it is closed: a registration kept beyond the wait
// would outlive the fd, and a new fd of the same number would never be registered.
#include <goro/io.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <string>
#include <system_error>

#include "netpoll.hpp"
#include "sched.hpp"

namespace goro::io {

namespace {

using detail::poll_mode;

std::system_error fd_error(int err, const char* op, int fd) {
  return std::system_error(err, std::system_category(),
                           std::string("goro::io::") + op + " fd " + std::to_string(fd));
}

bool passed(clock::time_point deadline) noexcept {
  return deadline != clock::time_point{} && deadline <= clock::now();
}

// A plain thread's wait (or any wait outside goro::run): poll(2), which blocks the thread.
bool wait_thread(int fd, short events, clock::time_point deadline, const char* op) {
  for (;;) {
    int timeout = -1;
    if (deadline != clock::time_point{}) {
      const auto left = deadline - clock::now();
      if (left <= clock::duration::zero()) return false;
      const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
      timeout = static_cast<int>(std::min<std::int64_t>(ms, INT_MAX));
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw fd_error(errno, op, fd);
    }
    if (n == 0) continue;  // the deadline, or early by poll's rounding: look again
    if (p.revents & POLLNVAL) throw fd_error(EBADF, op, fd);
    return true;
  }
}

// Registers fd for one wait. If it is registered already (another goroutine waits on it, or
// goro::net owns it), a duplicate is registered instead: epoll tells registrations apart by
// descriptor number. Null: fd cannot be polled (a regular file: always ready).
detail::poll_desc* open_for_wait(int fd, int& dup_fd, const char* op) {
  try {
    return detail::poll_open(fd);
  } catch (const std::system_error& e) {
    if (e.code() == std::errc::operation_not_permitted) return nullptr;
    if (e.code() != std::errc::file_exists) throw fd_error(e.code().value(), op, fd);
  }
  dup_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) throw fd_error(errno, op, fd);
  try {
    return detail::poll_open(dup_fd);
  } catch (const std::system_error& e) {
    ::close(dup_fd);
    throw fd_error(e.code().value(), op, fd);
  }
}

bool wait(int fd, poll_mode mode, clock::time_point deadline, const char* op) {
  if (fd < 0) throw fd_error(EBADF, op, fd);
  if (passed(deadline)) return false;
  detail::worker* w = detail::current_worker();
  if (!w || !w->running() || !detail::current_runtime()) {
    return wait_thread(fd, mode == poll_mode::read ? POLLIN : POLLOUT, deadline, op);
  }
  int dup_fd = -1;
  detail::poll_desc* pd = open_for_wait(fd, dup_fd, op);
  if (!pd) return true;
  struct unregister {
    detail::poll_desc* pd;
    int dup_fd;
    ~unregister() {
      detail::poll_close(pd);
      if (dup_fd >= 0) ::close(dup_fd);
    }
  } guard{pd, dup_fd};
  if (deadline != clock::time_point{}) {
    const auto ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch());
    detail::poll_set_deadline(pd, mode, ns.count());
  }
  return detail::poll_wait(pd, mode) == detail::poll_result::ready;
}

}  // namespace

bool wait_readable(int fd, clock::time_point deadline) {
  return wait(fd, poll_mode::read, deadline, "wait_readable");
}

bool wait_writable(int fd, clock::time_point deadline) {
  return wait(fd, poll_mode::write, deadline, "wait_writable");
}

}  // namespace goro::io
