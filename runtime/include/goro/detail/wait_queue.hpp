// A FIFO of parked waiters, held by channels and the sync types. Only its shape is public,
// so that they can hold one by value; `waiter` is defined in runtime/src/goroutine.hpp and
// the queue's operations are in runtime/src/waitq.hpp.
#pragma once

namespace goro::detail {

struct waiter;

struct waitq {
  waiter* first = nullptr;
  waiter* last = nullptr;
};

}  // namespace goro::detail
