// goro: Go's concurrency for C++20. This header reaches the whole public API.
//
//   #include <goro/goro.hpp>
//   int main() { return goro::run([] { ... }); }
#pragma once

#include <goro/blocking.hpp>
#include <goro/chan.hpp>
#include <goro/debug.hpp>
#include <goro/defer.hpp>
#include <goro/io.hpp>
#include <goro/panic.hpp>
#include <goro/rand.hpp>
#include <goro/runtime.hpp>
#include <goro/select.hpp>
#include <goro/sync.hpp>
#include <goro/synctest.hpp>
#include <goro/time.hpp>
#include <goro/unit.hpp>

// The layers above the runtime (API.md: net.hpp "also through goro.hpp").
#include <goro/net.hpp>

#include <goro/context.hpp>
#include <goro/net_context.hpp>
#include <goro/patterns.hpp>
