// Internals of the sync types: a FIFO of parked waiters (runtime/src/waiter.hpp).
#pragma once

namespace goro::detail {

struct waiter;

struct waitq {
  waiter* first = nullptr;
  waiter* last = nullptr;
};

}  // namespace goro::detail
