// Internals of goro::select: one case as the runtime sees it (runtime/src/select.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include <goro/detail/chan_core.hpp>

namespace goro::detail {

enum class case_kind : std::uint8_t { recv, send, fallback };

struct case_state;

// What a case does before and after the runtime's part: per (T, callback) type.
struct case_ops {
  void (*relocate)(case_state& dst, case_state& src) noexcept;  // move payload, fix `elem`
  void (*destroy)(case_state& c) noexcept;
  void (*complete)(case_state& c);  // runs the callback once the case was chosen
};

// A case: the channel (counted reference; null: a nil channel, never ready), where the
// value comes from or goes to, and a payload holding that value and the callback.
struct case_state {
  chan_core* chan = nullptr;
  case_kind kind = case_kind::fallback;
  bool ok = false;          // recv: a value arrived (false: channel closed)
  bool has_value = false;   // recv: *elem holds a value not yet handed to the user
  void* elem = nullptr;     // send: the value; recv: room for it
  void* payload = nullptr;  // points into `inline_buf` or to the heap
  const case_ops* ops = nullptr;
  alignas(std::max_align_t) unsigned char inline_buf[48];
};

// Blocks until one case can proceed, performs it and returns its index. Throws
// panic_error when a chosen send finds its channel closed.
std::size_t select_impl(case_state* const* cases, std::size_t n);

}  // namespace goro::detail
