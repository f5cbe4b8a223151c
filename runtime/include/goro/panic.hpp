// goro::panic_error — what Go would turn into a panic.
//
// Misuse that Go reports with a panic ("send on closed channel", "close of nil channel",
// "sync: negative WaitGroup counter") throws goro::panic_error with Go's message. If nothing
// catches it, it escapes the goroutine and the runtime ends the process as Go does:
//
//   try { c.send(1); } catch (const goro::panic_error& e) { std::cerr << e.what(); }
#pragma once

#include <stdexcept>

namespace goro {

class panic_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace goro
