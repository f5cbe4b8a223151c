// Internals of goro::context: the immutable node a context handle points to.
//
// A context is a chain of nodes from the handle up to background() or todo(). Each node
// caches, when it is built, what the chain answers for it, so that done(), err() and
// deadline() cost O(1) however long the chain of with_value() grows:
//   - `canceler`: the nearest node that can be canceled (itself for with_cancel and
//     with_deadline nodes), or null when nothing above can ever cancel (background, or
//     below without_cancel). done() and err() are that node's.
//   - `deadline`: the earliest deadline of the chain.
// Values are looked up by walking the chain; keys compare by address.
// The cancelable nodes themselves live in patterns/src/context.cpp.
#pragma once

#include <optional>
#include <string>

#include <goro/detail/shared_handle.hpp>
#include <goro/time.hpp>

namespace goro::detail {

class cancel_node;

class ctx_node {
 public:
  ctx_node(shared_handle<const ctx_node> parent, cancel_node* canceler,
           std::optional<clock::time_point> deadline) noexcept
      : parent_(std::move(parent)), canceler_(canceler), deadline_(deadline) {}
  ctx_node(const ctx_node&) = delete;
  ctx_node& operator=(const ctx_node&) = delete;
  virtual ~ctx_node() = default;

  const shared_handle<const ctx_node>& parent() const noexcept { return parent_; }
  cancel_node* canceler() const noexcept { return canceler_; }
  const std::optional<clock::time_point>& deadline() const noexcept { return deadline_; }

  // The value stored under `key` by the nearest with_value, or null.
  const void* value(const void* key) const noexcept {
    for (const ctx_node* n = this; n; n = n->parent_.get()) {
      if (n->key_ == key && key) return n->value_;
    }
    return nullptr;
  }

  // Go's String(): "context.Background.WithCancel.WithValue(user, val gopher)".
  std::string describe() const {
    std::string s = parent_ ? parent_->describe() : std::string();
    append_description(s);
    return s;
  }

 protected:
  virtual void append_description(std::string& out) const = 0;

  shared_handle<const ctx_node> parent_;
  cancel_node* canceler_;  // an ancestor (or this): kept alive by parent_
  std::optional<clock::time_point> deadline_;
  const void* key_ = nullptr;    // with_value nodes: the key's address
  const void* value_ = nullptr;  // ... and the value
};

}  // namespace goro::detail
