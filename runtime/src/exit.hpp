// How the process ends when goro ends it: a panic, a deadlock, a stack overflow, SIGQUIT,
// or goroutines still computing after main_fn returned (options::exit_grace).
//
// Go's output survives its fatal ends, because Go's fmt writes straight to the file
// descriptor. A C++ program's std::cout and stdout buffer what it prints when the output
// is a pipe or a file, and _exit drops the buffers; so every end goes through
// exit_process, which flushes them first.
#pragma once

namespace goro::detail {

// Flushes std::cout and stdout (std::cerr and stderr are unbuffered). Never blocks for
// long: the stream's lock may be held by a goroutine that is parked on another thread, or
// that this very fault interrupted, so the lock is only tried for a bounded time and the
// flush skipped if it stays taken. Usable from a signal handler in the sense that it cannot
// deadlock there (stdio is not async-signal-safe; a fatal end accepts that).
void flush_user_output() noexcept;

// flush_user_output, then _exit(status): destructors and atexit handlers do not run, as
// in Go's exit, since goroutines may still be using what they would destroy.
[[noreturn]] void exit_process(int status) noexcept;

}  // namespace goro::detail
