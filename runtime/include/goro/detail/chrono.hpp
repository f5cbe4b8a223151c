// std::chrono's clocks, durations, time points and literals, which goro's API is written in,
// without the rest of <chrono>. In C++20, libstdc++'s <chrono> also brings the calendar,
// time zones and their formatting and parsing (<sstream>, <locale>): 0.62 s of the compiler's
// time in every file that includes a goro header, against 0.12 s for <bits/chrono.h>, its
// header of what the API needs (GCC 12). Elsewhere, <chrono>. Include <chrono> yourself for
// the rest (operator<< of a duration, std::chrono::year, ...).
#pragma once

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif
