#include <goro/result.hpp>

#include <system_error>

namespace goro {

namespace {

// Walks err and the exceptions nested in it; true if `is` holds for one's code().
template <class Is>
bool any_code(std::exception_ptr err, Is is) noexcept {
  while (err) {
    std::exception_ptr inner;
    try {
      std::rethrow_exception(err);
    } catch (const std::system_error& e) {
      if (is(e.code())) return true;
      if (auto* n = dynamic_cast<const std::nested_exception*>(&e)) inner = n->nested_ptr();
    } catch (const std::nested_exception& n) {
      inner = n.nested_ptr();
    } catch (...) {
    }
    err = inner;
  }
  return false;
}

}  // namespace

bool errors_is(const std::exception_ptr& err, std::error_code code) noexcept {
  return any_code(err, [&](const std::error_code& c) { return c == code; });
}

bool errors_is(const std::exception_ptr& err, std::error_condition cond) noexcept {
  return any_code(err, [&](const std::error_code& c) { return c == cond; });
}

std::string error_message(const std::exception_ptr& e) {
  if (!e) return {};
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

}  // namespace goro
