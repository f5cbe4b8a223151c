// goro::io: a goroutine waits for a file descriptor that the program owns to become ready,
// taking no thread while it waits, so that C libraries with a non-blocking mode (libpq,
// c-ares, libcurl's multi interface, an inotify or timerfd descriptor) can be driven from
// goroutines.
//
//   ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
//   for (;;) {
//     ssize_t n = ::read(fd, buf, sizeof buf);
//     if (n >= 0 || errno != EAGAIN) break;
//     if (!goro::io::wait_readable(fd, goro::now() + 5s)) throw timed_out{};
//   }
//
// The goroutine's dump state while it waits is "IO wait", as in Go. goro::net builds on
// the same poller (runtime/src/netpoll.hpp) for its sockets.
#pragma once

#include <goro/time.hpp>

namespace goro::io {

// Parks the calling goroutine until `fd` is readable (data, end of stream, a peer that
// hung up, an error to read), or until `deadline`, if one is given. Returns true when fd
// is ready; false once the deadline has passed (at once, without looking at fd, if it has
// passed already).
//
// - Blocks: the goroutine parks and its worker runs other goroutines. On a plain thread, or
//   outside goro::run, the thread blocks in poll(2) instead.
// - fd: any descriptor that poll(2) accepts. Make it non-blocking for the read or write
//   that follows: readiness says that some data (or room) was there, not how much, and
//   another reader may take it first. A regular file or directory is always ready, as
//   poll(2) says. fd must stay open while a goroutine waits on it.
// - Each wait registers fd with the poller for its duration only (two epoll_ctl calls), so
//   fd may be closed, or handed to another library, once the wait has returned.
// - Throws std::system_error (EBADF for a negative or closed fd; EMFILE/ENOMEM if the
//   poller cannot be set up), and, like every blocking call, unwinds the goroutine when
//   main_fn has returned.
// - Thread safety: any number of goroutines and threads may wait on the same fd at once.
bool wait_readable(int fd, clock::time_point deadline = {});

// wait_readable for writing: returns true when fd has room to write (or the peer hung up,
// or an error is pending), false once the deadline has passed. Otherwise the same.
bool wait_writable(int fd, clock::time_point deadline = {});

}  // namespace goro::io
