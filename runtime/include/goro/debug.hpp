// Diagnostics: the live goroutines, as data or as a Go-style dump.
//
//   for (const auto& g : goro::goroutines()) std::cout << g.id << " " << g.state << "\n";
//   goro::dump_goroutines(std::cerr);     // what `kill -QUIT <pid>` prints, as in Go
//   goro::set_goroutine_name("acceptor"); // shown in dumps and leak reports
//
// A running program dumps every goroutine and exits with status 2 on SIGQUIT (Ctrl-\), as
// a Go program does.
//
// None of these functions waits for other goroutines; they throw only std::bad_alloc (and
// dump_goroutines what writing to `out` throws). Callable from any goroutine or thread.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <goro/detail/chrono.hpp>

namespace goro {

struct goroutine_info {
  std::uint64_t id = 0;
  std::string name;   // set_goroutine_name, or empty
  std::string state;  // Go's words: "running", "runnable", "chan receive", "select", ...
  std::chrono::nanoseconds waiting{0};  // how long it has been blocked (about; 0 if not)
  std::string created_file;             // where the go(...) that created it stands (main: empty)
  unsigned created_line = 0;
};

// A snapshot of the live goroutines of the running runtime (empty outside run).
std::vector<goroutine_info> goroutines();

// Writes every live goroutine as Go's traceback headers do:
//   goroutine 7 [chan receive, 2 minutes]:
//   created by server.cpp:41
void dump_goroutines(std::ostream& out);

// Names the calling goroutine (up to 31 bytes) for dumps and leak reports.
void set_goroutine_name(std::string_view name);

}  // namespace goro
