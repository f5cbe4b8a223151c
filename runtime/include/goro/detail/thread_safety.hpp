// Clang's thread-safety annotations (-Wthread-safety), as marl's tsa.h has them: the compiler
// checks that a field marked GORO_GUARDED_BY(lock) is only touched with that lock held.
// They expand to nothing for other compilers; the test command has a Clang build that
// compiles the library with -Wthread-safety -Werror (tests/run.sh, "thread-safety").
//
//   struct shard {
//     spinlock lock;
//     std::vector<g*> slots GORO_GUARDED_BY(lock);
//   };
//   void add(shard& s, g* gp) {
//     spin_guard hold(s.lock);  // std::lock_guard is not annotated: use spin_guard
//     s.slots.push_back(gp);
//   }
#pragma once

#if defined(__clang__)
#define GORO_TSA(x) __attribute__((x))
#else
#define GORO_TSA(x)
#endif

#define GORO_CAPABILITY(name) GORO_TSA(capability(name))
#define GORO_SCOPED_CAPABILITY GORO_TSA(scoped_lockable)
#define GORO_GUARDED_BY(lock) GORO_TSA(guarded_by(lock))
#define GORO_PT_GUARDED_BY(lock) GORO_TSA(pt_guarded_by(lock))
#define GORO_REQUIRES(...) GORO_TSA(requires_capability(__VA_ARGS__))
#define GORO_ACQUIRE(...) GORO_TSA(acquire_capability(__VA_ARGS__))
#define GORO_RELEASE(...) GORO_TSA(release_capability(__VA_ARGS__))
#define GORO_TRY_ACQUIRE(...) GORO_TSA(try_acquire_capability(__VA_ARGS__))
#define GORO_EXCLUDES(...) GORO_TSA(locks_excluded(__VA_ARGS__))
// For code whose locking the analysis cannot follow (locks taken in one function and
// released in another); say why where it is used.
#define GORO_NO_THREAD_SAFETY_ANALYSIS GORO_TSA(no_thread_safety_analysis)
