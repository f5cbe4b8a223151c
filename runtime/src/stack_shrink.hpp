// Shrinking the stack of a goroutine that has waited long for I/O, in a runtime whose stacks
// cannot move (Go shrinks a goroutine's stack by copying it to a smaller one at each GC).
//
// A goroutine parked in a read holds every stack page that its frames reach: with a 4 KiB
// buffer on its stack, two pages, where a Go goroutine holds a 2 KiB stack. Once it has
// waited for a while (netpoll.cpp's sweep decides when, and holds the parked goroutine
// meanwhile), save_stack copies the live bytes below the stack's top page into a heap
// block of their own size and give_back_saved gives those pages back to the kernel
// (MADV_DONTNEED). The next switch to the goroutine (begin_running, switch.cpp) calls
// restore_stack first, which faults the pages in again and copies the bytes back, so the
// goroutine never sees a difference. The top page stays: g_on_stack lives there, and
// others read it while the goroutine waits (wakers, dumps).
//
// The rules that make this safe:
// - Only a goroutine that nobody can resume meanwhile is shrunk: its waker's slot is held
//   by the caller (the goroutine cannot be readied) and the scheduler is not draining.
// - Nothing outside the goroutine touches its stack below the top page while it waits.
//   The runtime keeps none of the wait's state there (the sweep only shrinks waits whose
//   state is in the poll descriptor); the program promises the rest by calling
//   goro::allow_stack_shrink (no other goroutine or thread uses the goroutine's locals).
// - `scratch` is memory the wait lets the runtime clobber: the buffer of the read that
//   waits, which Go's io.Reader contract lets a read use as scratch space. It is not saved;
//   its bytes in the pages given back read as zero afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "goroutine.hpp"

namespace goro::detail {

// The saved bytes of a shrunk stack (stack_shrink.cpp); g_on_stack::shrunk points to it.
struct shrunk_stack;

// Shrinking is two steps, so that the pages of many stacks go back to the kernel in one
// system call (one TLB flush, the bulk of the cost):
// 1. save_stack copies the live bytes of parked gp's stack below its top page (but
//    `scratch`) to a heap block, and sets gp's g_on_stack::shrunk. False, with nothing
//    done, if that would save less than a quarter of the pages it frees, if the goroutine
//    uses only its top page, or without memory for the copy.
// 2. give_back_saved gives back those pages of each of `gs` (saved, and still held
//    parked). Where the kernel refuses, the copy is dropped and shrunk reset: the stack is
//    as it was.
// The caller holds each goroutine parked from step 1 until after step 2.
bool save_stack(g* gp, std::span<std::byte> scratch) noexcept;
void give_back_saved(std::span<g* const> gs) noexcept;

// Copies a shrunk stack's bytes back and frees the copy; st.shrunk is null afterwards.
// Called just before the goroutine is switched to.
void restore_stack(g_on_stack& st) noexcept;

}  // namespace goro::detail
