// dial(ctx, ...) and lookup_host(ctx, ...): the deadline is ctx's, and an after_func on ctx
// fires a dial_canceller, which closes the socket being connected or stops the wait for a
// name's lookup, and so wakes the goroutine that waits.
#include <goro/net_context.hpp>

namespace goro::net {

namespace {

// Go's mapErr: what a dial (or lookup) that ctx ended reports.
[[noreturn]] void throw_context_error(std::error_code err, std::string_view network,
                                      const op_error& e, std::string_view op = "dial ") {
  std::string text = e.what();
  const std::string tail = ": " + e.code().message();
  // e's text ends in its own cause ("i/o timeout" or "use of closed network connection"):
  // replace it with the context's, as Go's mapErr does.
  if (text.size() >= tail.size() &&
      text.compare(text.size() - tail.size(), tail.size(), tail) == 0) {
    text.resize(text.size() - tail.size());
  } else {
    text = std::string(op) + std::string(network);
  }
  text += err == context_errc::canceled ? ": operation was canceled" : ": i/o timeout";
  throw op_error(err, text);
}

}  // namespace

conn dial(const goro::context& ctx, std::string_view network, std::string_view address) {
  const op_error ended(make_error_code(errc::closed), "dial " + std::string(network));
  if (ctx.err()) throw_context_error(ctx.err(), network, ended);
  const clock::time_point deadline = ctx.deadline().value_or(clock::time_point{});
  dial_canceller cancel;
  auto stop = after_func(ctx, [cancel] { cancel.cancel(); });
  try {
    conn c = dial(network, address, deadline, &cancel);
    // The canceller may have closed the socket just as it connected: report the context.
    if (!stop() && cancel.canceled()) {
      c.close();
      throw_context_error(ctx.err(), network, ended);
    }
    return c;
  } catch (const op_error& e) {
    stop();
    // The dial's deadline is ctx's, and its timer may fire just before ctx's own does.
    const bool expired =
        e.code() == errc::timeout && deadline != clock::time_point{} && goro::now() >= deadline;
    if (expired) throw_context_error(context_errc::deadline_exceeded, network, e);
    if (ctx.err() && (e.code() == errc::closed || e.code() == errc::timeout)) {
      throw_context_error(ctx.err(), network, e);
    }
    throw;
  }
}

std::vector<std::string> lookup_host(const goro::context& ctx, std::string_view host) {
  const clock::time_point deadline = ctx.deadline().value_or(clock::time_point{});
  dial_canceller cancel;
  // An IP literal is its own answer even when ctx is done, as in Go; a name is not looked up.
  if (ctx.err()) cancel.cancel();
  auto stop = after_func(ctx, [cancel] { cancel.cancel(); });
  try {
    std::vector<std::string> out = lookup_host(host, deadline, &cancel);
    stop();
    return out;
  } catch (const op_error& e) {
    stop();
    const bool expired =
        e.code() == errc::timeout && deadline != clock::time_point{} && goro::now() >= deadline;
    if (expired) throw_context_error(context_errc::deadline_exceeded, host, e, "lookup ");
    if (ctx.err() && (e.code() == errc::closed || e.code() == errc::timeout)) {
      throw_context_error(ctx.err(), host, e, "lookup ");
    }
    throw;
  }
}

}  // namespace goro::net
