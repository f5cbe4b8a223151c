// Go's context package on goro's channels and timers.
//
// The tree. Each cancelable node (with_cancel, with_deadline, with_stop_token) registers with
// the nearest cancelable ancestor, which keeps a list of such children; canceling a node
// cancels its registered children, and canceling or destroying a child unregisters it. The
// list holds children weakly: a child keeps its ancestors alive (it needs their values and
// their cancellation), never the other way round, so contexts nobody holds any more are freed
// even if nobody canceled them (Go's garbage collector does the same). Registrations made by
// after_func(ctx, f) are held strongly: f must run even if the caller drops the stop function.
//
// Locking. Each cancelable node has its own mutex, held only for a few field updates: a node
// never takes a second lock while holding its own, and never runs user code under it. So a
// parent cancels its children after releasing its lock (children then may unregister, or be
// destroyed, freely); the cancel is still complete when cancel() returns, as in Go.
// std::stop_callbacks (user code) run last, once every done() of the subtree is closed.
#include <goro/context.hpp>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <stop_token>
#include <string>
#include <vector>

#include <goro/detail/shared_handle_impl.hpp>
#include <goro/runtime.hpp>

namespace goro {

namespace {

class context_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "context"; }
  std::string message(int ev) const override {
    switch (static_cast<context_errc>(ev)) {
      case context_errc::canceled:
        return "context canceled";
      case context_errc::deadline_exceeded:
        return "context deadline exceeded";
    }
    return "unknown context error";
  }
  std::error_condition default_error_condition(int ev) const noexcept override {
    switch (static_cast<context_errc>(ev)) {
      case context_errc::canceled:
        return std::errc::operation_canceled;
      case context_errc::deadline_exceeded:
        return std::errc::timed_out;
    }
    return {ev, *this};
  }
};

}  // namespace

const std::error_category& context_category() noexcept {
  static const context_category_impl category;
  return category;
}

namespace detail {

// Something a cancelable node cancels along with itself: a child context or an after_func.
class cancel_target {
 public:
  virtual ~cancel_target() = default;

  // Cancels this node and its subtree with err and cause (null: none given).
  // remove_from_parent: also unregister from the node it is registered with (false when that
  // node is the one canceling). The std::stop_sources of the subtree are appended to `stops`
  // instead of being asked to stop here: their std::stop_callbacks are user code, which must
  // not run while a cancel is half done (a second canceler may be waiting for it).
  virtual void cancel_subtree(bool remove_from_parent, std::error_code err,
                              std::exception_ptr cause, std::vector<std::stop_source>& stops) = 0;

  // Warms, a step ahead of cancel_subtree, what closing this node's done channel touches
  // first (see detail::chan_prefetch; stage 2, then 1).
  virtual void prefetch_for_cancel(int /*stage*/) const noexcept {}

  // Where this target sits in the children_ of the node it is registered with (guarded by
  // that node's mutex), so that unregistering is a swap with the last entry.
  std::size_t slot_in_parent = 0;

  // The whole cancel: the subtree, then the std::stop_callbacks.
  void cancel(bool remove_from_parent, std::error_code err, std::exception_ptr cause) {
    std::vector<std::stop_source> stops;
    cancel_subtree(remove_from_parent, err, std::move(cause), stops);
    for (std::stop_source& s : stops) s.request_stop();
  }
};

namespace {

// background() and todo().
class empty_node final : public ctx_node {
 public:
  explicit empty_node(const char* name) : ctx_node(nullptr, nullptr, std::nullopt), name_(name) {}

 private:
  void append_description(std::string& out) const override { out += name_; }
  const char* name_;
};

}  // namespace

shared_handle<const ctx_node> background_node() {
  static const shared_handle<const ctx_node> node =
      to_handle<const ctx_node>(std::make_shared<const empty_node>("context.Background"));
  return node;
}

namespace {
shared_handle<const ctx_node> todo_node() {
  static const shared_handle<const ctx_node> node =
      to_handle<const ctx_node>(std::make_shared<const empty_node>("context.TODO"));
  return node;
}
}  // namespace

// with_cancel and the base of with_deadline and with_stop_token: Go's cancelCtx.
class cancel_node : public ctx_node,
                    public cancel_target,
                    public std::enable_shared_from_this<cancel_node> {
 public:
  cancel_node(shared_handle<const ctx_node> parent, std::optional<clock::time_point> deadline)
      : ctx_node(std::move(parent), this, deadline), done_(make_chan<unit>()) {}

  ~cancel_node() override {
    // Not canceled, just forgotten: only the link in the ancestor remains to undo.
    if (linked_) linked_->remove_child(this);
  }

  // Go's propagateCancel: registers `child` (whose parent context is this node's subtree) so
  // that canceling this node cancels it. If this node is already canceled, cancels the
  // child at once instead. `keep` holds the child alive while registered (after_func).
  void add_child(cancel_target* child, std::weak_ptr<cancel_target> weak,
                 std::shared_ptr<cancel_target> keep) {
    std::error_code err;
    std::exception_ptr why;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!claimed_) {
        child->slot_in_parent = children_.size();
        children_.push_back(child_ref{child, std::move(weak), std::move(keep)});
        return;
      }
      err = claimed_err_;
      why = claimed_cause_;
    }
    child->cancel(false, err, why);
  }

  void remove_child(cancel_target* child) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::size_t i = child->slot_in_parent;
    if (i >= children_.size() || children_[i].target != child) return;  // canceled already
    if (i + 1 != children_.size()) {
      children_[i] = std::move(children_.back());
      children_[i].target->slot_in_parent = i;
    }
    children_.pop_back();
  }

  // Links this (new) node under its parent's nearest cancelable node. Called once, before
  // the node is handed out.
  void link() {
    cancel_node* up = parent_->canceler();
    if (!up) return;  // nothing above can be canceled: nothing to listen to
    linked_ = up;
    up->add_child(this, weak_from_this(), nullptr);
  }

  // The first call claims the cancellation, cancels the children, and only then sets err()
  // and closes done(). So whoever sees done() closed (or err() set) also sees every
  // descendant canceled, and err() is empty exactly as long as done() is open, as in Go. A
  // second caller returns once the first one has finished, as in Go, where it waits for the
  // lock. Nothing here runs user code (see cancel_target), so that wait always ends.
  void cancel_subtree(bool remove_from_parent, std::error_code err, std::exception_ptr why,
                      std::vector<std::stop_source>& stops) override {
    std::vector<child_ref> children;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (claimed_) {
        if (err_) return;  // already canceled
        lock.unlock();
        done_.recv();  // being canceled: wait until that is complete
        return;
      }
      claimed_ = true;
      claimed_err_ = err;
      claimed_cause_ = why;
      children.swap(children_);
      if (stop_) stops.push_back(*stop_);
      stopped_locked();
    }
    // A large tree is cold by the time it is canceled (its goroutines' stacks have pushed it
    // out of the caches), and each child would cost a few misses in a row: its node, its
    // done channel, the waiter on the stack of the goroutine parked on it. So the loop
    // prefetches them a few children ahead, each a child later than the one it needs.
    // (ContextCancel100k, 100,000 contexts: the cancel took ~500 ns per context.)
    const std::size_t n = children.size();
    for (std::size_t i = 0; i < n; ++i) {
      if (i + 3 < n) __builtin_prefetch(children[i + 3].target);
      if (i + 2 < n) children[i + 2].target->prefetch_for_cancel(2);
      if (i + 1 < n) children[i + 1].target->prefetch_for_cancel(1);
      child_ref& ref = children[i];
      if (ref.keep) {
        ref.keep->cancel_subtree(false, err, why, stops);
      } else if (auto alive = ref.weak.lock()) {
        alive->cancel_subtree(false, err, why, stops);
      }
    }
    children.clear();  // may free children, which then unregister (a no-op now)
    {
      std::lock_guard<std::mutex> lock(mu_);
      err_ = err;
      cause_ = std::move(why);
      done_.close();
    }
    if (remove_from_parent && linked_) {
      linked_->remove_child(this);
    }
  }

  recv_chan<unit> done() const noexcept { return done_; }

  void prefetch_for_cancel(int stage) const noexcept override {
    chan_prefetch(chan_access::core(done_), stage);
  }

  std::error_code err() const {
    std::lock_guard<std::mutex> lock(mu_);
    return err_;
  }

  std::exception_ptr cause() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (!err_) return nullptr;
    if (cause_) return cause_;
    return std::make_exception_ptr(std::system_error(err_));
  }

  std::stop_token stop_token() const {
    std::stop_source source;
    bool canceled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stop_) stop_.emplace();
      source = *stop_;
      canceled = claimed_;
    }
    if (canceled) source.request_stop();
    return source.get_token();
  }

  std::size_t child_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return children_.size();
  }

 protected:
  // Called, under the lock, by the first cancel: the timer node stops its timer.
  virtual void stopped_locked() noexcept {}

  void append_description(std::string& out) const override { out += ".WithCancel"; }

  struct child_ref {
    cancel_target* target;
    std::weak_ptr<cancel_target> weak;
    std::shared_ptr<cancel_target> keep;
  };

  mutable std::mutex mu_;
  chan<unit> done_;
  bool claimed_ = false;              // the first cancel has begun
  std::error_code claimed_err_;       // ... with this error
  std::exception_ptr claimed_cause_;  // ... and this cause (null: none)
  std::error_code err_;               // set when done_ is closed: the public err()
  std::exception_ptr cause_;
  std::vector<child_ref> children_;               // in registration order
  mutable std::optional<std::stop_source> stop_;  // made on the first stop_token()
  cancel_node* linked_ = nullptr;                 // the ancestor this node is registered with
};

namespace {

// with_deadline: Go's timerCtx.
class timer_node final : public cancel_node {
 public:
  timer_node(shared_handle<const ctx_node> parent, clock::time_point d, std::exception_ptr why)
      : cancel_node(std::move(parent), d), deadline_cause_(std::move(why)) {}

  ~timer_node() override {
    if (timer_) timer_->stop();
  }

  // Arms the timer unless the node was canceled meanwhile. The timer holds the node weakly:
  // a context nobody holds any more is freed, and its destructor stops the timer.
  void start(clock::duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    if (claimed_) return;
    std::weak_ptr<cancel_node> self = weak_from_this();
    timer_.emplace(goro::after_func(d, [self, why = deadline_cause_] {
      if (auto n = self.lock()) n->cancel(true, context_errc::deadline_exceeded, why);
    }));
  }

  const std::exception_ptr& deadline_cause() const noexcept { return deadline_cause_; }

 private:
  void stopped_locked() noexcept override {
    if (timer_) timer_->stop();
  }
  void append_description(std::string& out) const override {
    auto left = std::chrono::duration_cast<std::chrono::duration<double>>(*deadline_ - goro::now());
    char buf[64];
    std::snprintf(buf, sizeof buf, ".WithDeadline(%+.6fs)", left.count());
    out += buf;
  }

  std::exception_ptr deadline_cause_;
  std::optional<goro::timer> timer_;
};

// with_stop_token: canceled by a std::stop_source.
class stop_node final : public cancel_node {
 public:
  using cancel_node::cancel_node;

  void listen(std::stop_token token) {
    // May run the callback at once, if a stop was already requested.
    callback_.emplace(std::move(token), on_stop{this});
  }

 private:
  struct on_stop {
    stop_node* self;
    void operator()() const noexcept { self->cancel(true, context_errc::canceled, nullptr); }
  };
  void append_description(std::string& out) const override { out += ".WithStopToken"; }

  // Last, so that it is unregistered (waiting for a running callback) before the rest of
  // the node is destroyed.
  std::optional<std::stop_callback<on_stop>> callback_;
};

// without_cancel.
class detached_node final : public ctx_node {
 public:
  explicit detached_node(shared_handle<const ctx_node> parent)
      : ctx_node(std::move(parent), nullptr, std::nullopt) {}

 private:
  void append_description(std::string& out) const override { out += ".WithoutCancel"; }
};

// after_func(ctx, f): Go's afterFuncCtx.
class after_node final : public cancel_target, public std::enable_shared_from_this<after_node> {
 public:
  explicit after_node(task f) : f_(std::move(f)) {}

  // Registered with `up`, whose cancel will call cancel(false, ...).
  void link(cancel_node* up) {
    up_ = up->weak_from_this();
    up->add_child(this, weak_from_this(), shared_from_this());
  }

  void cancel_subtree(bool remove_from_parent, std::error_code, std::exception_ptr,
                      std::vector<std::stop_source>&) override {
    if (remove_from_parent) unlink();
    if (!claimed_.exchange(true, std::memory_order_acq_rel)) {
      goro::go(std::move(f_));
    }
  }

  bool stop() {
    if (claimed_.exchange(true, std::memory_order_acq_rel)) return false;
    unlink();
    f_ = task();  // f will never run: let go of what it holds
    return true;
  }

 private:
  void unlink() {
    if (auto up = up_.lock()) up->remove_child(this);
  }

  task f_;
  std::atomic<bool> claimed_{false};  // f started, or stopped
  std::weak_ptr<cancel_node> up_;
};

}  // namespace

std::size_t context_children(const context& ctx) {
  cancel_node* n = detail::context_access::node(ctx)->canceler();
  return n ? n->child_count() : 0;
}

}  // namespace detail

recv_chan<unit> context::done() const {
  detail::cancel_node* n = n_->canceler();
  return n ? n->done() : recv_chan<unit>();
}

std::error_code context::err() const {
  detail::cancel_node* n = n_->canceler();
  return n ? n->err() : std::error_code();
}

std::stop_token context::stop_token() const {
  detail::cancel_node* n = n_->canceler();
  return n ? n->stop_token() : std::stop_token();
}

context background() {
  return detail::context_access::make(detail::background_node());
}
context todo() {
  return detail::context_access::make(detail::todo_node());
}

void cancel_func::operator()() const {
  if (n_) n_->cancel(true, context_errc::canceled, nullptr);
}

void cancel_cause_func::operator()(std::exception_ptr why) const {
  if (n_) n_->cancel(true, context_errc::canceled, std::move(why));
}

void cancel_cause_func::operator()(std::error_code why) const {
  (*this)(why ? std::make_exception_ptr(std::system_error(why)) : nullptr);
}

namespace {

// The handles to a node made here.
context context_of(std::shared_ptr<const detail::ctx_node> n) {
  return detail::context_access::make(detail::to_handle(std::move(n)));
}
cancel_func cancel_of(std::shared_ptr<detail::cancel_node> n) {
  return detail::context_access::cancel(detail::to_handle(std::move(n)));
}

std::shared_ptr<detail::cancel_node> new_cancel_node(const context& parent) {
  auto n = std::make_shared<detail::cancel_node>(detail::context_access::node(parent),
                                                 parent.deadline());
  n->link();
  return n;
}

}  // namespace

std::pair<context, cancel_func> with_cancel(const context& parent) {
  auto n = new_cancel_node(parent);
  return {context_of(n), cancel_of(n)};
}

std::pair<context, cancel_cause_func> with_cancel_cause(const context& parent) {
  auto n = new_cancel_node(parent);
  return {context_of(n), detail::context_access::cancel_cause(detail::to_handle(n))};
}

std::pair<context, cancel_func> with_deadline_cause(const context& parent, clock::time_point d,
                                                    std::exception_ptr why) {
  if (auto up = parent.deadline(); up && *up <= d) {
    // The parent's deadline comes first: it will cancel the child in time.
    return with_cancel(parent);
  }
  auto n =
      std::make_shared<detail::timer_node>(detail::context_access::node(parent), d, std::move(why));
  n->link();
  auto left = d - goro::now();
  if (left <= clock::duration::zero()) {
    n->cancel(true, context_errc::deadline_exceeded, n->deadline_cause());
  } else {
    n->start(left);
  }
  return {context_of(n), cancel_of(n)};
}

std::pair<context, cancel_func> with_deadline(const context& parent, clock::time_point d) {
  return with_deadline_cause(parent, d, nullptr);
}

std::pair<context, cancel_func> with_timeout(const context& parent, clock::duration d) {
  return with_deadline_cause(parent, goro::now() + d, nullptr);
}

std::pair<context, cancel_func> with_timeout_cause(const context& parent, clock::duration d,
                                                   std::exception_ptr why) {
  return with_deadline_cause(parent, goro::now() + d, std::move(why));
}

std::exception_ptr cause(const context& ctx) {
  detail::cancel_node* n = detail::context_access::node(ctx)->canceler();
  return n ? n->cause() : nullptr;
}

context without_cancel(const context& parent) {
  return context_of(
      std::make_shared<const detail::detached_node>(detail::context_access::node(parent)));
}

std::function<bool()> after_func(const context& ctx, detail::task f) {
  auto a = std::make_shared<detail::after_node>(std::move(f));
  if (detail::cancel_node* up = detail::context_access::node(ctx)->canceler()) a->link(up);
  return [a] { return a->stop(); };
}

std::pair<context, cancel_func> with_stop_token(const context& parent, std::stop_token token) {
  auto n =
      std::make_shared<detail::stop_node>(detail::context_access::node(parent), parent.deadline());
  n->link();
  if (token.stop_possible()) n->listen(std::move(token));
  return {context_of(n), cancel_of(n)};
}

context from_stop_source(const std::stop_source& source) {
  return with_stop_token(background(), source.get_token()).first;
}

}  // namespace goro
