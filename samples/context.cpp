// The context package: cancellation, deadlines and request-scoped values.
//
// Greeting and farewell run concurrently. genGreeting gives itself one second
// (with_timeout); locale would take a minute, so the greeting fails with "context deadline
// exceeded" and cancels the shared context, which stops the farewell ("context canceled").
// The second run checks the deadline up front and gives up at once. Then with_value carries
// request-scoped data through the calls. Go original: samples/go/context/main.go.
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

// Go's (string, error).
using string_or_error = std::pair<std::string, std::error_code>;
using locale_func = string_or_error (*)(const goro::context&);

string_or_error gen_greeting(goro::context ctx, locale_func locale) {
  auto [timeout_ctx, cancel] = goro::with_timeout(ctx, 1s);
  goro::defer release([cancel = cancel] { cancel(); });

  auto [loc, err] = locale(timeout_ctx);
  if (err) return {"", err};
  if (loc == "EN/US") return {"hello", {}};
  return {"", std::make_error_code(std::errc::not_supported)};  // unsupported locale
}

string_or_error gen_farewell(const goro::context& ctx, locale_func locale) {
  auto [loc, err] = locale(ctx);
  if (err) return {"", err};
  if (loc == "EN/US") return {"goodbye", {}};
  return {"", std::make_error_code(std::errc::not_supported)};  // unsupported locale
}

std::error_code print_greeting(const goro::context& ctx, locale_func locale) {
  auto [greeting, err] = gen_greeting(ctx, locale);
  if (err) return err;
  std::printf("%s world!\n", greeting.c_str());
  return {};
}

std::error_code print_farewell(const goro::context& ctx, locale_func locale) {
  auto [farewell, err] = gen_farewell(ctx, locale);
  if (err) return err;
  std::printf("%s world!\n", farewell.c_str());
  return {};
}

string_or_error locale(const goro::context& ctx) {
  if (goro::select(goro::on_recv(ctx.done()), goro::on_recv(goro::after(1min))) == 0) {
    return {"", ctx.err()};
  }
  return {"EN/US", {}};
}

string_or_error locale_with_deadline_check(const goro::context& ctx) {
  if (auto deadline = ctx.deadline()) {
    if (*deadline - (goro::clock::now() + 1min) <= 0s) {
      return {"", goro::context_errc::deadline_exceeded};
    }
  }
  if (goro::select(goro::on_recv(ctx.done()), goro::on_recv(goro::after(1min))) == 0) {
    return {"", ctx.err()};
  }
  return {"EN/US", {}};
}

void greet_and_farewell(locale_func locale) {
  goro::wait_group wg;
  auto [ctx, cancel] = goro::with_cancel(goro::background());
  goro::defer release([cancel = cancel] { cancel(); });

  wg.add(1);
  goro::go([&wg, ctx = ctx, cancel = cancel, locale] {
    goro::defer done([&wg] { wg.done(); });
    if (std::error_code err = print_greeting(ctx, locale)) {
      std::printf("cannot print greeting: %s\n", err.message().c_str());
      cancel();
    }
  });

  wg.add(1);
  goro::go([&wg, ctx = ctx, locale] {
    goro::defer done([&wg] { wg.done(); });
    if (std::error_code err = print_farewell(ctx, locale)) {
      std::printf("cannot print farewell: %s\n", err.message().c_str());
    }
  });

  wg.wait();
}

// Go's `type ctxKey int` keys: here typed keys, so Value needs no type assertion.
const goro::context_key<std::string> ctx_user_id{"userID"};
const goro::context_key<std::string> ctx_auth_token{"authToken"};

const std::string& user_id(const goro::context& c) {
  return *c.value(ctx_user_id);
}
const std::string& auth_token(const goro::context& c) {
  return *c.value(ctx_auth_token);
}

void handle_response(const goro::context& ctx) {
  std::printf("handling response for %s (auth: %s)\n", user_id(ctx).c_str(),
              auth_token(ctx).c_str());
}

void process_request(const std::string& user, const std::string& token) {
  goro::context ctx = goro::with_value(goro::background(), ctx_user_id, user);
  ctx = goro::with_value(ctx, ctx_auth_token, token);
  handle_response(ctx);
}

int main() {
  return goro::run([] {
    std::printf("-- cancellation with WithTimeout --\n");
    greet_and_farewell(locale);
    std::printf("-- giving up early with Deadline --\n");
    greet_and_farewell(locale_with_deadline_check);
    std::printf("-- request-scoped data with WithValue --\n");
    process_request("jane", "abc123");
  });
}
