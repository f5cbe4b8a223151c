// docs/reference.md §1: an exception escaping a goroutine or main_fn is a panic (stderr
// "panic: " and what(), with the goroutine's id; exit status 2), and a program whose
// goroutines are all asleep with nothing left to wake them ends with Go's deadlock message
// and status 2.
//
// Each scenario runs in panic_helper, a separate process, since it ends that process.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// Where panic_helper is: meson passes its path in GORO_PANIC_HELPER; otherwise it is
// assumed to sit next to this test executable.
std::string helper_path() {
  if (const char* p = std::getenv("GORO_PANIC_HELPER")) return p;
  char buf[PATH_MAX];
  const ssize_t len = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (len <= 0) return "panic_helper";
  std::string self(buf, static_cast<std::size_t>(len));
  return self.substr(0, self.rfind('/') + 1) + "panic_helper";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct outcome {
  bool exited = false;  // false: killed by a signal, or by the timeout below
  int status = -1;      // exit status if exited, else the signal number
  bool timed_out = false;
  std::string out, err;
};

// Where the helper's stdout goes: a temporary file, or a pipe that this process drains. Both
// make stdio buffer fully, as a program's output is buffered when it is piped to another
// program or redirected to a file.
enum class sink { file, pipe };

// Runs panic_helper SCENARIO with stdout and stderr captured, killing it if it runs longer
// than `limit` (a runtime that hangs instead of panicking fails the test instead of hanging
// it).
outcome run_helper(const std::string& scenario,
                   std::chrono::seconds limit = std::chrono::seconds(15),
                   sink out_to = sink::file) {
  char out_path[] = "/tmp/goro_panic_out_XXXXXX";
  char err_path[] = "/tmp/goro_panic_err_XXXXXX";
  int out_fd = ::mkstemp(out_path);
  const int err_fd = ::mkstemp(err_path);
  REQUIRE(out_fd >= 0);
  REQUIRE(err_fd >= 0);
  int pipe_fds[2] = {-1, -1};
  if (out_to == sink::pipe) {
    REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
    ::fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    ::close(out_fd);
    out_fd = pipe_fds[1];
  }
  std::string piped;
  auto drain_pipe = [&] {
    char buf[4096];
    ssize_t n;
    while (pipe_fds[0] >= 0 && (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) {
      piped.append(buf, static_cast<std::size_t>(n));
    }
  };
  const std::string helper = helper_path();
  // The helper dies on purpose with goroutines alive: in a sanitizer build, a leak report
  // at exit would replace the exit status under test. Everything the child needs is built
  // before fork, since this process may have other threads (no malloc after fork).
  // For the same reason ThreadSanitizer must not report the worker threads that such an end
  // leaves running (it would exit with its own status, 66), nor sleep at exit: its default
  // atexit_sleep_ms=1000, which gives threads time to race with exit-time destructors, was
  // 30 of this test's 35 s under TSan (one second per helper) and finds nothing in a
  // process that ends on purpose with its goroutines alive.
  std::vector<std::string> env_strings;
  const std::string tsan_opts = "report_thread_leaks=0:atexit_sleep_ms=0";
  std::string asan = "ASAN_OPTIONS=detect_leaks=0";
  std::string tsan = "TSAN_OPTIONS=" + tsan_opts;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "ASAN_OPTIONS=", 13) == 0) {
      asan = std::string(*e) + ":detect_leaks=0";
    } else if (std::strncmp(*e, "TSAN_OPTIONS=", 13) == 0) {
      tsan = std::string(*e) + ":" + tsan_opts;
    } else {
      env_strings.emplace_back(*e);
    }
  }
  env_strings.push_back(asan);
  env_strings.push_back(tsan);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string arg0 = helper, arg1 = scenario;
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    ::execve(helper.c_str(), argv, envp.data());
    ::_exit(127);
  }
  ::close(out_fd);
  ::close(err_fd);
  outcome o;
  int wstatus = 0;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    drain_pipe();
    const pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (std::chrono::steady_clock::now() > deadline) {
      o.timed_out = true;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &wstatus, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  o.exited = WIFEXITED(wstatus);
  o.status = o.exited ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus);
  drain_pipe();
  if (pipe_fds[0] >= 0) ::close(pipe_fds[0]);
  o.out = out_to == sink::pipe ? piped : slurp(out_path);
  o.err = slurp(err_path);
  ::unlink(out_path);
  ::unlink(err_path);
  return o;
}

// The id that the helper printed as "id=N" before panicking. (Plain string scanning: GCC
// 12's std::regex trips -Wmaybe-uninitialized in the sanitizer build.)
std::string printed_id(const std::string& out) {
  const auto at = out.find("id=");
  if (at == std::string::npos) return "?";
  const auto end = out.find_first_not_of("0123456789", at + 3);
  const std::string id = out.substr(at + 3, end == std::string::npos ? end : end - at - 3);
  return id.empty() ? "?" : id;
}

// Whether `err` mentions "goroutine ID" with no further digit after the id.
bool mentions_goroutine(const std::string& err, const std::string& id) {
  const std::string needle = "goroutine " + id;
  for (auto at = err.find(needle); at != std::string::npos; at = err.find(needle, at + 1)) {
    const auto next = at + needle.size();
    if (next == err.size() || !std::isdigit(static_cast<unsigned char>(err[next]))) return true;
  }
  return false;
}

void check_panic(const std::string& scenario, const std::string& what) {
  const outcome o = run_helper(scenario);
  CAPTURE(scenario);
  CAPTURE(o.out);
  CAPTURE(o.err);
  CHECK_FALSE(o.timed_out);
  CHECK(o.exited);
  CHECK(o.status == 2);
  CHECK(o.err.find("panic: " + what) != std::string::npos);
  const std::string id = printed_id(o.out);
  CHECK(id != "?");
  CHECK(mentions_goroutine(o.err, id));
  CHECK(o.out.find("survived") == std::string::npos);
}

}  // namespace

TEST_CASE("the helper runs at all") {
  const outcome o = run_helper("exit_code");
  CAPTURE(o.err);
  CHECK(o.exited);
  CHECK(o.status == 7);  // run's result as the process's exit status
}

TEST_CASE("an exception escaping a goroutine is a panic: message, id, exit status 2") {
  check_panic("goroutine_throw", "boom from a goroutine");
}

TEST_CASE("a panic after the goroutine blocked and resumed") {
  check_panic("goroutine_throw_after_block", "boom after blocking");
}

TEST_CASE("an exception escaping main_fn is a panic of goroutine 1") {
  check_panic("main_throw", "boom from main");
  check_panic("main_throw_void", "boom from a void main");
  const outcome o = run_helper("main_throw");
  CHECK(printed_id(o.out) == "1");
}

TEST_CASE("an uncaught panic_error prints Go's message") {
  check_panic("send_on_closed", "send on closed channel");
}

TEST_CASE("an exception of a type without what() is a panic too") {
  const outcome o = run_helper("throw_int");
  CAPTURE(o.out);
  CAPTURE(o.err);
  CHECK(o.exited);
  CHECK(o.status == 2);
  CHECK(o.err.find("panic") != std::string::npos);
  CHECK(mentions_goroutine(o.err, printed_id(o.out)));
  CHECK(o.out.find("survived") == std::string::npos);
}

TEST_CASE("an exception escaping an after_func callback is a panic") {
  check_panic("after_func_throw", "boom from after_func");
}

TEST_CASE("all goroutines asleep: Go's deadlock message and exit status 2") {
  for (const char* scenario :
       {"deadlock_main_recv", "deadlock_all_blocked", "deadlock_after_timers"}) {
    const outcome o = run_helper(scenario);
    CAPTURE(scenario);
    CAPTURE(o.out);
    CAPTURE(o.err);
    CHECK_FALSE(o.timed_out);
    CHECK(o.exited);
    CHECK(o.status == 2);
    CHECK(o.err.find("fatal error: all goroutines are asleep - deadlock!") != std::string::npos);
    // The list of goroutines names main, which waits.
    CHECK(mentions_goroutine(o.err, "1"));
    CHECK(o.out.find("survived") == std::string::npos);
  }
  // What each goroutine waits on, in Go's words (DESIGN §7).
  const outcome o = run_helper("deadlock_main_recv");
  CHECK(o.err.find("chan receive") != std::string::npos);
}

TEST_CASE("not a deadlock: a live plain thread or a pending timer can still wake a goroutine") {
  for (const char* scenario : {"no_deadlock_thread", "no_deadlock_timer"}) {
    const outcome o = run_helper(scenario);
    CAPTURE(scenario);
    CAPTURE(o.err);
    CHECK(o.exited);
    CHECK(o.status == 0);
    CHECK(o.out.find("survived") != std::string::npos);
    CHECK(o.err.find("deadlock") == std::string::npos);
  }
}

TEST_CASE("a goroutine in IO wait is not a deadlock; once it is done, a real one is caught") {
  const outcome o = run_helper("io_wait_then_deadlock");
  CAPTURE(o.out);
  CAPTURE(o.err);
  CHECK(o.exited);
  CHECK(o.status == 2);
  CHECK(o.out.find("io done 1") != std::string::npos);  // the detector kept quiet meanwhile
  CHECK(o.err.find("fatal error: all goroutines are asleep - deadlock!") != std::string::npos);
  CHECK(o.err.find("chan receive") != std::string::npos);
}

TEST_CASE("a run given a seed prints it when it panics or deadlocks, for the replay") {
  check_panic("seeded_panic", "boom under a seed");
  outcome o = run_helper("seeded_panic");
  CAPTURE(o.err);
  CHECK(o.err.find("goro: seed 12345\n") != std::string::npos);
  ::setenv("GORO_SEED", "4242", 1);
  o = run_helper("seeded_deadlock");
  ::unsetenv("GORO_SEED");
  CAPTURE(o.err);
  CHECK(o.status == 2);
  CHECK(o.err.find("all goroutines are asleep - deadlock!") != std::string::npos);
  CHECK(o.err.find("goro: seed 4242\n") != std::string::npos);
  // No seed given: none printed.
  o = run_helper("goroutine_throw");
  CHECK(o.err.find("goro: seed") == std::string::npos);
}

TEST_CASE("SIGQUIT dumps every goroutine, with names and states, and exits with status 2") {
  const outcome o = run_helper("sigquit");
  CAPTURE(o.err);
  CHECK(o.exited);
  CHECK(o.status == 2);
  CHECK(o.err.find("SIGQUIT: quit") != std::string::npos);
  CHECK(o.err.find("goroutine 1 [running]") != std::string::npos);
  CHECK(o.err.find("(napper) [chan receive]") != std::string::npos);
  CHECK(o.err.find("created by ") != std::string::npos);
  CHECK(o.err.find("panic_helper.cpp:") != std::string::npos);
  CHECK(o.out.find("survived") == std::string::npos);
}

TEST_CASE("a stack overflow is reported, not silent memory corruption") {
  const outcome o = run_helper("stack_overflow", std::chrono::seconds(60));
  CAPTURE(o.err);
  CHECK_FALSE(o.timed_out);
  CHECK(o.out.find("survived") == std::string::npos);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // The sanitizers catch the overflow themselves and end the process their own way.
  CHECK(!(o.exited && o.status == 0));
#else
  CHECK(o.exited);
  CHECK(o.status == 2);
  CHECK(mentions_goroutine(o.err, printed_id(o.out) + " stack overflow"));
#endif
}

TEST_CASE("options::detect_deadlock = false turns the deadlock report off") {
  const outcome o = run_helper("deadlock_detection_off");
  CAPTURE(o.err);
  CHECK_FALSE(o.timed_out);
  CHECK_FALSE(o.exited);
  CHECK(o.status == SIGALRM);
  CHECK(o.err.find("deadlock") == std::string::npos);
}

// docs/reference.md §1: every fatal end flushes what the program printed to std::cout and stdout
// before its message, so output that goes to a pipe or a file survives. Each scenario
// prints a line through printf and one through std::cout, without flushing, then ends.
TEST_CASE("a fatal end keeps what the program printed, through a pipe and to a file") {
  struct expect {
    const char* scenario;
    const char* message;
  };
  std::vector<expect> cases = {
      {"flush_panic", "panic: boom after printing"},
      {"flush_deadlock", "all goroutines are asleep - deadlock!"},
      {"flush_sigquit", "SIGQUIT: quit"},
      {"flush_locked_by_dying", "panic: boom holding stdout"},
  };
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // The sanitizers take a stack overflow over themselves.
  cases.push_back({"flush_stack_overflow", "stack overflow"});
#endif
  for (const expect& e : cases) {
    for (const sink to : {sink::pipe, sink::file}) {
      const outcome o = run_helper(e.scenario, std::chrono::seconds(60), to);
      CAPTURE(e.scenario);
      CAPTURE(to == sink::pipe);
      CAPTURE(o.out);
      CAPTURE(o.err);
      CHECK_FALSE(o.timed_out);
      CHECK(o.exited);
      CHECK(o.status == 2);
      CHECK(o.err.find(e.message) != std::string::npos);
      CHECK(o.out.find("printf line before the end\n") != std::string::npos);
      CHECK(o.out.find("cout line before the end\n") != std::string::npos);
    }
  }
}

TEST_CASE("a fatal end does not hang when another thread holds stdout's lock forever") {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer's own _exit flushes stdout (FlushStreams in its OnExit), waiting for the
  // lock forever, after goro has given up on it: only the other builds can run this.
  return;
#endif
  const outcome o = run_helper("flush_locked_elsewhere", std::chrono::seconds(30), sink::pipe);
  CAPTURE(o.err);
  CHECK_FALSE(o.timed_out);
  CHECK(o.exited);
  CHECK(o.status == 2);
  CHECK(o.err.find("panic: boom while stdout is locked") != std::string::npos);
}

// docs/reference.md §1: a goroutine still computing when main_fn returns does not keep the program
// alive: after options::exit_grace the process ends with main's status, its output flushed.
TEST_CASE("main returns while a goroutine computes: exit with main's status after the grace") {
  for (const sink to : {sink::pipe, sink::file}) {
    const auto start = std::chrono::steady_clock::now();
    const outcome o = run_helper("exit_grace_spinner", std::chrono::seconds(30), to);
    const auto took = std::chrono::steady_clock::now() - start;
    CAPTURE(o.out);
    CAPTURE(o.err);
    CHECK_FALSE(o.timed_out);
    CHECK(o.exited);
    CHECK(o.status == 3);
    CHECK(o.out.find("main is done\n") != std::string::npos);
    CHECK(o.out.find("survived") == std::string::npos);
    CHECK(took < std::chrono::seconds(20));  // far below: the grace is 50 ms
  }
}

// docs/reference.md §1: the grace is CPU time. A goroutine whose worker thread is off the CPU
// past the grace (a loaded machine) is waited for: run returns, the process is not ended.
TEST_CASE("main returns while a goroutine's thread is off the CPU: run waits, then returns") {
  const outcome o = run_helper("exit_grace_off_cpu", std::chrono::seconds(30), sink::pipe);
  CAPTURE(o.out);
  CAPTURE(o.err);
  CHECK_FALSE(o.timed_out);
  CHECK(o.exited);
  CHECK(o.status == 0);
  CHECK(o.out.find("main is done\n") != std::string::npos);
  CHECK(o.out.find("survived with 3\n") != std::string::npos);
}
