// std::mutex, std::lock_guard and std::unique_lock, which sync.hpp and semaphore.hpp use and
// goro::mutex is written to work with, without the rest of <mutex>. libstdc++ keeps them in
// <bits/std_mutex.h> and <bits/unique_lock.h>; <mutex> adds the recursive and timed mutexes,
// std::scoped_lock and std::call_once (~25 M compiler instructions in every file that
// includes goro/goro.hpp, GCC 12: docs/header_cost.md). Elsewhere, <mutex>. Include <mutex>
// yourself for the rest.
#pragma once

#include <version>  // defines __GLIBCXX__ under libstdc++

#if defined(__GLIBCXX__) && __has_include(<bits/std_mutex.h>) && __has_include(<bits/unique_lock.h>)
#include <bits/std_mutex.h>
#include <bits/unique_lock.h>
#else
#include <mutex>
#endif
