// libFuzzer target: the input bytes become a schedule of channel operations for the model in
// model.hpp, and the same properties are checked; a violation prints what was seen and
// aborts, so libFuzzer saves the input. Build and run with tests/model/fuzz.sh.
//
// Input layout:
//   byte 0      worker threads: 1 + b % 2
//   byte 1      actors: 1 + b % 5; channel slots: 1 + (b / 5) % 3
//   byte 2      initial capacities: two bits per slot (0-3)
//   byte 3...   the actors' decisions: byte j drives actor (j - 3) % actors, so that each
//               actor's script is a strand of the input and a mutation changes one actor
//               at a time. An actor's script ends with its strand.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "model.hpp"

namespace {

class byte_source final : public goro_model::source {
 public:
  explicit byte_source(std::vector<std::uint8_t> b) : b_(std::move(b)) {}
  bool more() override { return i_ < b_.size(); }
  // Past the end (in the middle of an operation) every choice is 0.
  std::uint32_t pick(std::uint32_t n) override { return i_ < b_.size() ? b_[i_++] % n : 0; }

 private:
  std::vector<std::uint8_t> b_;
  std::size_t i_ = 0;
};

}  // namespace

// ASan's detect_stack_use_after_return (on by default in clang >= 15's runtime) moves
// address-taken locals to a "fake stack", and the runtime hands such locals (its switch
// request, its channel waiters) to code running on other stacks, which then crashes in
// finish_on_top. GCC's ASan has the option off by default; do the same here, so that a
// crash file replays the same way with or without fuzz.sh.
extern "C" const char* __asan_default_options() {
  return "detect_stack_use_after_return=0";
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace goro_model;
  if (size < 3) return 0;
  config c;
  c.threads = 1 + data[0] % 2;
  c.actors = 1 + data[1] % 5;
  const unsigned slots = 1 + (data[1] / 5) % 3;
  c.initial_caps.clear();
  for (unsigned i = 0; i < slots; ++i) c.initial_caps.push_back((data[2] >> (2 * i)) & 3);
  // Short waits: libFuzzer wants many runs a second, and the interleavings matter, not time.
  c.waits = {0us, 10us, 50us, 200us};
  c.help_tick = 100us;
  c.deadline = 20s;

  std::vector<std::vector<std::uint8_t>> strands(c.actors);
  for (std::size_t j = 3; j < size; ++j) strands[(j - 3) % c.actors].push_back(data[j]);

  world w(c);
  std::vector<std::unique_ptr<source>> owned;
  std::vector<source*> srcs;
  for (auto& s : strands) {
    owned.push_back(std::make_unique<byte_source>(std::move(s)));
    srcs.push_back(owned.back().get());
  }
  owned.push_back(std::make_unique<rng_source>(size, 0));  // main: no script of its own
  srcs.push_back(owned.back().get());

  const std::vector<std::string> errs = run_model(w, srcs);
  if (!errs.empty()) {
    std::fprintf(stderr, "goro model violated (threads %u, %u actors, %u slots):\n", c.threads,
                 c.actors, slots);
    for (const std::string& e : errs) std::fprintf(stderr, "  %s\n", e.c_str());
    std::fprintf(stderr, "stats: %s\n", total_stats(w).str().c_str());
    std::abort();
  }
  return 0;
}
