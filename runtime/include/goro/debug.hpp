// Introspection: the live goroutines, for goroutine dumps and leak checks in tests.
//
//   for (const auto& g : goro::goroutines()) std::cout << g.id << " " << g.state << "\n";
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace goro {

struct goroutine_info {
  std::uint64_t id = 0;
  std::string state;         // Go's words: "running", "runnable", "chan receive", "select", ...
  std::string created_file;  // where the go(...) that created it stands
  unsigned created_line = 0;
};

// A snapshot of the live goroutines of the running runtime (empty outside run).
std::vector<goroutine_info> goroutines();

}  // namespace goro
