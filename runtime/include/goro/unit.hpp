// goro::unit — the empty value, Go's struct{}: `goro::chan<goro::unit>` is `chan struct{}`.
#pragma once

namespace goro {

struct unit {
  friend constexpr bool operator==(unit, unit) noexcept { return true; }
};

}  // namespace goro
