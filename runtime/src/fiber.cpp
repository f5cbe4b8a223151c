#include "fiber.hpp"

#include "sanitizers.hpp"

namespace goro::detail {

namespace ctx = boost::context::detail;

fiber_context fiber_make(void* top, std::size_t size, void (*entry)(fiber_transfer)) noexcept {
  return ctx::make_fcontext(top, size, entry);
}

namespace {

// Tells the sanitizers about one switch: which stack is about to run (before the jump), and
// that we are back on ours (when the jump returns, i.e. when someone resumes us). An exiting
// fiber passes no place for its fake stack, which lets ASan free it.
class sanitizer_switch {
 public:
  sanitizer_switch(const fiber_stack& to, bool exiting) noexcept {
#if GORO_ASAN
    __sanitizer_start_switch_fiber(exiting ? nullptr : &fake_, to.bottom, to.size);
#endif
#if GORO_TSAN
    __tsan_switch_to_fiber(to.tsan_fiber, 0);
#endif
    (void)to;
    (void)exiting;
  }
  ~sanitizer_switch() {
#if GORO_ASAN
    __sanitizer_finish_switch_fiber(fake_, nullptr, nullptr);
#endif
  }

 private:
  [[maybe_unused]] void* fake_ = nullptr;
};

}  // namespace

fiber_transfer fiber_jump(fiber_context to, const fiber_stack& to_stack, void* data,
                          bool exiting) noexcept {
  sanitizer_switch announce(to_stack, exiting);
  return ctx::jump_fcontext(to, data);
}

fiber_transfer fiber_jump_ontop(fiber_context to, const fiber_stack& to_stack, void* data,
                                fiber_transfer (*on_top)(fiber_transfer), bool exiting) noexcept {
  sanitizer_switch announce(to_stack, exiting);
  return ctx::ontop_fcontext(to, data, on_top);
}

void fiber_landed(fiber_stack* from) noexcept {
#if GORO_ASAN
  const void* bottom = nullptr;
  std::size_t size = 0;
  __sanitizer_finish_switch_fiber(nullptr, &bottom, &size);
  if (from) {
    from->bottom = const_cast<void*>(bottom);
    from->size = size;
  }
#else
  (void)from;
#endif
}

void* fiber_tsan_create() noexcept {
#if GORO_TSAN
  return __tsan_create_fiber(0);
#else
  return nullptr;
#endif
}

void fiber_tsan_destroy(void* f) noexcept {
#if GORO_TSAN
  if (f) __tsan_destroy_fiber(f);
#else
  (void)f;
#endif
}

void* fiber_tsan_current() noexcept {
#if GORO_TSAN
  return __tsan_get_current_fiber();
#else
  return nullptr;
#endif
}

}  // namespace goro::detail
