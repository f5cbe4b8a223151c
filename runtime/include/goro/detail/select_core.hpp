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

// A case: the channel (null: a nil channel, never ready), where the value comes from or
// goes to, and a payload holding that value and the callback. A case built from a handle
// that outlives it borrows the channel; one built from a temporary handle, or moved, holds
// a counted reference (`owns_chan`). Borrowing keeps `select(on_recv(c), on_default())`
// free of writes to the channel's reference count, which threads selecting on the same
// channel would otherwise fight over.
struct case_state {
  case_state() noexcept = default;  // uninitialised: to be overwritten by a move
  case_state(case_kind k, chan_core* c, bool owns) noexcept
      : chan(c),
        elem(nullptr),
        ops(nullptr),
        payload(nullptr),
        kind(k),
        owns_chan(owns),
        ok(false),
        has_value(false) {}

  chan_core* chan;
  void* elem;           // send: the value; recv: room for it
  const case_ops* ops;  // null: no callback and a trivially copyable value (or none)
  void* payload;        // points into `inline_buf` or to the heap; null: none
  case_kind kind;
  bool owns_chan;
  bool ok;         // recv: a value arrived (false: channel closed)
  bool has_value;  // recv: *elem holds a value not yet handed to the user
  alignas(std::max_align_t) unsigned char inline_buf[48];
};

// Blocks until one case can proceed, performs it and returns its index. Throws
// panic_error when a chosen send finds its channel closed.
std::size_t select_impl(case_state* const* cases, std::size_t n);

}  // namespace goro::detail
