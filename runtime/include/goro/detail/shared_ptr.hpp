// std::shared_ptr, std::weak_ptr and std::make_shared, which goro's API and handles are
// written with, without the rest of <memory>. In C++20, libstdc++'s <memory> also brings
// the uninitialized-memory algorithms, std::atomic<std::shared_ptr> and the parallel
// algorithms' glue, which <bits/shared_ptr.h>, its header of these names, leaves out
// (GCC 12): 0.49 s of the compiler's time against 0.42 s alone, 0.02 s of goro.hpp's.
// Elsewhere, <memory>. Include <memory> yourself for the rest (std::uninitialized_copy,
// std::atomic<std::shared_ptr>, ...).
#pragma once

#if defined(__GLIBCXX__) && __has_include(<bits/shared_ptr.h>)
#include <bits/shared_ptr.h>
#else
#include <memory>
#endif
