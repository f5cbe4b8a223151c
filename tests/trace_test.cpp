// GORO_TRACE=file.json (runtime/src/trace.hpp): goro::run writes the scheduler's events as a
// Chrome trace-event file. These tests run small programs with the variable set, parse the
// file with the small JSON reader below and check what Perfetto would draw: a lane per
// worker thread, a goroutine's blocked event with its wait reason, every created goroutine
// ended, timestamps that never go back within a lane; the cap on events; the trace written
// on a fatal end (a panic, in panic_helper); and nothing written when the variable is unset.
#include <doctest/doctest.h>

#include <goro/goro.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_util.hpp"

using namespace std::chrono_literals;

namespace {

// --- a small JSON reader: enough for the trace (objects, arrays, strings, numbers) -------

struct json {
  enum type_t { null, boolean, number, string, array, object } type = null;
  double num = 0;
  bool b = false;
  std::string str;
  std::vector<json> arr;
  std::vector<std::pair<std::string, json>> obj;

  const json* get(const std::string& key) const {
    for (const auto& [k, v] : obj) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  std::string get_str(const std::string& key) const {
    const json* v = get(key);
    return v && v->type == string ? v->str : "";
  }
  double get_num(const std::string& key, double missing = -1) const {
    const json* v = get(key);
    return v && v->type == number ? v->num : missing;
  }
};

class parser {
 public:
  explicit parser(const std::string& text) : s_(text) {}
  json parse_all() {
    json v = value();
    ws();
    if (i_ != s_.size()) fail("text after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string("bad JSON at ") + std::to_string(i_) + ": " + what);
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail("unexpected character");
  }
  std::string text() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\\') {
        if (i_ >= s_.size()) fail("bad escape");
        c = s_[i_++];
        if (c == 'u') {
          if (i_ + 4 > s_.size()) fail("bad \\u");
          c = static_cast<char>(std::stoi(s_.substr(i_, 4), nullptr, 16));
          i_ += 4;
        } else if (c == 'n') {
          c = '\n';
        } else if (c != '"' && c != '\\' && c != '/') {
          fail("unknown escape");
        }
      }
      out.push_back(c);
    }
    expect('"');
    return out;
  }
  json value() {
    ws();
    json v;
    if (i_ >= s_.size()) fail("end of text");
    const char c = s_[i_];
    if (c == '{') {
      v.type = json::object;
      ++i_;
      if (eat('}')) return v;
      do {
        std::string k = text();
        expect(':');
        v.obj.emplace_back(std::move(k), value());
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      v.type = json::array;
      ++i_;
      if (eat(']')) return v;
      do {
        v.arr.push_back(value());
      } while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.type = json::string;
      v.str = text();
    } else if (s_.compare(i_, 4, "true") == 0 || s_.compare(i_, 5, "false") == 0) {
      v.type = json::boolean;
      v.b = c == 't';
      i_ += v.b ? 4 : 5;
    } else if (s_.compare(i_, 4, "null") == 0) {
      i_ += 4;
    } else {
      std::size_t used = 0;
      v.type = json::number;
      v.num = std::stod(s_.substr(i_, 32), &used);
      if (used == 0) fail("not a value");
      i_ += used;
    }
    return v;
  }

  const std::string& s_;
  std::size_t i_ = 0;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

std::string temp_path(const char* what) {
  return "/tmp/goro_trace_" + std::to_string(::getpid()) + "_" + what + ".json";
}

// Sets an environment variable for one scope (the tests run one at a time, in one thread).
class scoped_env {
 public:
  scoped_env(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = std::make_unique<std::string>(old);
    ::setenv(name, value.c_str(), 1);
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::unique_ptr<std::string> old_;
};

// What the checks need of a trace: its events, checked for the fields every event has.
struct trace_file {
  json root;
  std::vector<const json*> events;
  std::map<double, std::string> lane_names;  // tid -> thread_name

  explicit trace_file(const std::string& path) {
    const std::string text = slurp(path);
    REQUIRE_FALSE(text.empty());
    root = parser(text).parse_all();
    REQUIRE(root.type == json::object);
    const json* evs = root.get("traceEvents");
    REQUIRE(evs);
    REQUIRE(evs->type == json::array);
    for (const json& e : evs->arr) {
      REQUIRE(e.type == json::object);
      const std::string ph = e.get_str("ph");
      REQUIRE_FALSE(ph.empty());
      REQUIRE(e.get_num("pid") >= 0);
      REQUIRE(e.get_num("tid") >= 0);
      if (ph == "M") {
        if (e.get_str("name") == "thread_name") {
          lane_names[e.get_num("tid")] = e.get("args")->get_str("name");
        }
        continue;
      }
      REQUIRE(e.get_num("ts") >= 0);
      if (ph == "X") REQUIRE(e.get_num("dur") >= 0);
      events.push_back(&e);
    }
  }

  std::string lane(double tid) const {
    auto it = lane_names.find(tid);
    return it == lane_names.end() ? "" : it->second;
  }

  // Events named `name` (instants: created, blocked, woken, ended, ...).
  std::vector<const json*> named(const std::string& name) const {
    std::vector<const json*> out;
    for (const json* e : events) {
      if (e->get_str("name") == name) out.push_back(e);
    }
    return out;
  }

  // In the file's order, no lane's timestamps go back.
  void check_lanes_in_time_order() const {
    std::map<double, double> last;
    for (const json* e : events) {
      const double tid = e->get_num("tid"), ts = e->get_num("ts");
      auto [it, fresh] = last.emplace(tid, ts);
      if (!fresh) {
        CHECK(ts >= it->second);
        it->second = ts;
      }
    }
  }
};

// Runs f() with stderr going to a temporary file, and returns what it wrote there.
template <class F>
std::string capture_stderr(F&& f) {
  char path[] = "/tmp/goro_trace_err_XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  std::fflush(stderr);
  const int saved = ::dup(2);
  ::dup2(fd, 2);
  f();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fd);
  std::string text = slurp(path);
  std::remove(path);
  return text;
}

int spawned_count(const trace_file& t) {
  return static_cast<int>(t.named("created").size());
}

}  // namespace

TEST_SUITE("trace") {
  TEST_CASE("a traced run: worker lanes, a blocked receive, every goroutine created and ended") {
    const std::string path = temp_path("run");
    std::remove(path.c_str());
    constexpr int kWorkers = 20;
    std::atomic<std::uint64_t> receiver_id{0};
    {
      scoped_env env("GORO_TRACE", path);
      goro::run(goro::options{.threads = 2}, [&] {
        auto c = goro::make_chan<int>();
        goro::wait_group wg;
        wg.add(1);
        goro::go([&, c] {
          goro::set_goroutine_name("receiver");
          receiver_id = goro::goroutine_id();
          const std::optional<int> v = c.recv();
          CHECK(v.value_or(0) == 42);
          wg.done();
        });
        // Send only once the receiver is parked in its receive, so that it has blocked.
        const bool parked = goro_test::eventually([&] {
          for (const auto& g : goro::goroutines()) {
            if (g.id == receiver_id.load() && g.state == "chan receive") return true;
          }
          return false;
        });
        GO_CHECK_MESSAGE(parked, "the receiver never blocked in its receive");
        wg.add(kWorkers);
        for (int i = 0; i < kWorkers; ++i) {
          goro::go([&] {
            goro::yield();
            wg.done();
          });
        }
        c.send(42);
        wg.wait();
      });
    }
    REQUIRE(exists(path));
    const trace_file t(path);
    std::remove(path.c_str());

    // One lane per worker, named.
    CHECK(t.lane(1) == "worker 0");
    CHECK(t.lane(2) == "worker 1");
    CHECK(t.root.get("otherData")->get_num("workers") == 2);
    CHECK(t.root.get("otherData")->get_num("dropped") == 0);

    // The receiver blocked on its receive, was woken, and its spans carry its name.
    const double rid = static_cast<double>(receiver_id.load());
    bool blocked = false, woken = false, span = false;
    for (const json* e : t.named("blocked")) {
      if (e->get("args")->get_num("g") == rid) {
        blocked = blocked || e->get("args")->get_str("reason") == "chan receive";
      }
    }
    for (const json* e : t.named("woken")) woken = woken || e->get("args")->get_num("g") == rid;
    for (const json* e : t.events) {
      if (e->get_str("ph") == "X" && e->get("args")->get_num("g") == rid) {
        span = span || e->get_str("name") == "G" + std::to_string(receiver_id) + " (receiver)";
      }
    }
    CHECK(blocked);
    CHECK(woken);
    CHECK(span);

    // Main, the receiver and the others: each created once and ended once.
    CHECK(spawned_count(t) == kWorkers + 2);
    CHECK(t.named("ended").size() == kWorkers + 2);
    std::map<double, int> created, ended;
    for (const json* e : t.named("created")) ++created[e->get("args")->get_num("g")];
    for (const json* e : t.named("ended")) ++ended[e->get("args")->get_num("g")];
    CHECK(created == ended);

    // Every running span is on a worker's lane, and lanes are in time order.
    for (const json* e : t.events) {
      if (e->get_str("ph") == "X") CHECK(e->get_num("tid") >= 1);
      if (e->get_str("ph") == "X") CHECK(e->get_num("tid") <= 2);
    }
    t.check_lanes_in_time_order();
  }

  TEST_CASE("a timer's firing is an event, with the sleeper it wakes") {
    const std::string path = temp_path("timer");
    std::uint64_t sleeper = 0;
    {
      scoped_env env("GORO_TRACE", path);
      goro::run(goro::options{.threads = 1}, [&] {
        sleeper = goro::goroutine_id();
        goro::sleep(1ms);
      });
    }
    const trace_file t(path);
    std::remove(path.c_str());
    bool fired = false;
    for (const json* e : t.named("timer fired")) {
      fired = fired || (e->get("args")->get_num("g") == static_cast<double>(sleeper) &&
                        e->get("args")->get_str("timer") == "sleep");
    }
    CHECK(fired);
    bool slept = false;
    for (const json* e : t.named("blocked"))
      slept = slept || e->get("args")->get_str("reason") == "sleep";
    CHECK(slept);
  }

  TEST_CASE("past GORO_TRACE_EVENTS a thread's events are dropped and counted") {
    const std::string path = temp_path("cap");
    constexpr int kCap = 50;
    const std::string err = capture_stderr([&] {
      scoped_env env("GORO_TRACE", path);
      scoped_env cap("GORO_TRACE_EVENTS", std::to_string(kCap));
      goro::run(goro::options{.threads = 2}, [] {
        goro::wait_group wg;
        wg.add(200);
        for (int i = 0; i < 200; ++i) goro::go([&] { wg.done(); });
        wg.wait();
      });
    });
    const trace_file t(path);
    std::remove(path.c_str());
    CHECK(t.root.get("otherData")->get_num("cap") == kCap);
    const double dropped = t.root.get("otherData")->get_num("dropped");
    CHECK(dropped > 0);
    // The count is printed too.
    CHECK(err.find("goro: GORO_TRACE: " + std::to_string(static_cast<long>(dropped)) +
                   " events dropped") != std::string::npos);
    // A recorded event becomes at most one in the file (a start and its stop: one span and
    // one instant).
    std::map<double, int> per_lane;
    for (const json* e : t.events) ++per_lane[e->get_num("tid")];
    for (const auto& [tid, n] : per_lane) CHECK(n <= kCap);
    t.check_lanes_in_time_order();
  }

  TEST_CASE("without GORO_TRACE (or with it empty) nothing is written") {
    const std::string path = temp_path("off");
    std::remove(path.c_str());
    {
      scoped_env env("GORO_TRACE", path);
      ::unsetenv("GORO_TRACE");
      goro::run(goro::options{.threads = 2}, [] { goro::go([] {}); });
      CHECK_FALSE(exists(path));
      ::setenv("GORO_TRACE", "", 1);
      goro::run(goro::options{.threads = 2}, [] { goro::go([] {}); });
      CHECK_FALSE(exists(path));
    }
  }

  TEST_CASE("a panic writes the trace before the process ends") {
    const char* helper = std::getenv("GORO_PANIC_HELPER");
    REQUIRE(helper);
    const std::string path = temp_path("panic");
    std::remove(path.c_str());
    const std::string cmd =
        "GORO_TRACE=" + path + " " + helper + " goroutine_throw >/dev/null 2>&1";
    const int status = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
    REQUIRE(exists(path));
    const trace_file t(path);
    std::remove(path.c_str());
    CHECK(spawned_count(t) >= 2);  // main and the goroutine that threw
    CHECK(t.lane(1) == "worker 0");
    t.check_lanes_in_time_order();
  }
}
