// The runtime's internals, tested on their own through its internal headers: the legal
// status changes of a goroutine, and GORO_ASSERT, which checks them in the builds that test.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include "assert.hpp"
#include "goroutine.hpp"

namespace {

using goro::detail::g;
using goro::detail::g_status;
using goro::detail::legal_move;

}  // namespace

TEST_CASE("legal_move allows Go's status changes and no others") {
  using s = g_status;
  CHECK(legal_move(s::runnable, s::running));
  CHECK(legal_move(s::running, s::waiting));
  CHECK(legal_move(s::running, s::runnable));  // yield
  CHECK(legal_move(s::waiting, s::runnable));  // ready
  CHECK(legal_move(s::waiting, s::running));   // unwound at exit
  CHECK(legal_move(s::running, s::dead));
  CHECK(legal_move(s::waiting, s::released));
  CHECK(legal_move(s::runnable, s::released));

  CHECK_FALSE(legal_move(s::runnable, s::runnable));  // readied twice
  CHECK_FALSE(legal_move(s::runnable, s::waiting));   // parks without running
  CHECK_FALSE(legal_move(s::waiting, s::waiting));
  CHECK_FALSE(legal_move(s::waiting, s::dead));
  CHECK_FALSE(legal_move(s::dead, s::running));  // a use after exit
  CHECK_FALSE(legal_move(s::dead, s::released));
  CHECK_FALSE(legal_move(s::released, s::runnable));
}

// Runs f in a child process with stderr in a pipe; returns what it wrote, and its status.
template <class F>
std::string in_child(F f, int& status) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGABRT, SIG_DFL);  // not doctest's handler, which is not async-signal-safe
    dup2(fds[1], 2);
    f();
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  close(fds[0]);
  REQUIRE(waitpid(child, &status, 0) == child);
  return out;
}

TEST_CASE("set_status: an illegal change is an assertion failure where assertions are on") {
  int status = 0;
  const std::string err = in_child(
      [] {
        g gp;
        gp.status.store(g_status::dead);
        set_status(&gp, g_status::running);  // a goroutine resumed after its exit
      },
      status);
#ifdef NDEBUG
  CHECK(WIFEXITED(status));  // compiled out: release builds check nothing
#else
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK(err.find("goro: internal error: GORO_ASSERT(") != std::string::npos);
  CHECK(err.find("an illegal change of a goroutine's status") != std::string::npos);
#endif
}

TEST_CASE("set_status: a legal change is only a store") {
  g gp;
  set_status(&gp, g_status::running);
  set_status(&gp, g_status::waiting);
  set_status(&gp, g_status::runnable);
  CHECK(gp.status.load() == g_status::runnable);
}
