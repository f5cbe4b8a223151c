#include "fiber.hpp"


#include "sanitizers.hpp"

namespace goro::detail {

namespace ctx = boost::context::detail;


fiber_context fiber_make(void* top, std::size_t size, void (*entry)(fiber_transfer)) noexcept {
  return ctx::make_fcontext(top, size, entry);
}

fiber_transfer fiber_jump(fiber_context to, const fiber_stack& to_stack, void* data,
                          bool exiting) noexcept {
#if GORO_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(exiting ? nullptr : &fake, to_stack.bottom, to_stack.size);
#endif
#if GORO_TSAN
  __tsan_switch_to_fiber(to_stack.tsan_fiber, 0);
#endif
  (void)to_stack;
  (void)exiting;
  ctx::transfer_t t = ctx::jump_fcontext(to, data);
#if GORO_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  return t;
}

fiber_transfer fiber_jump_ontop(fiber_context to, const fiber_stack& to_stack, void* data,
                                fiber_transfer (*on_top)(fiber_transfer), bool exiting) noexcept {
#if GORO_ASAN
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(exiting ? nullptr : &fake, to_stack.bottom, to_stack.size);
#endif
#if GORO_TSAN
  __tsan_switch_to_fiber(to_stack.tsan_fiber, 0);
#endif
  (void)to_stack;
  (void)exiting;
  ctx::transfer_t t = ctx::ontop_fcontext(to, data, on_top);
#if GORO_ASAN
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#endif
  return t;
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
