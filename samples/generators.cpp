// Handy generators: goro::repeat, goro::take, goro::repeat_fn, and a toString stage.
//
// Go's examples use `interface{}` values so that one repeat serves every type; in C++ the
// generators are templates, so the values keep their type. The toString stage, Go's type
// assertion v.(string), is shown on std::any, the C++ interface{}.
// Go original: samples/go/generators/main.go.
#include <any>
#include <cstdio>
#include <random>
#include <string>

#include <goro/goro.hpp>

int main() {
  return goro::run([] {
    auto done = goro::make_chan<goro::unit>();
    goro::defer close_done([done] { done.close(); });

    for (int num : goro::take(done, goro::repeat(done, 1), 10)) std::printf("%d ", num);
    std::printf("\n");

    // rand.Int(). (Go's generator is not reproduced: the numbers differ.)
    auto rand = [rng = std::mt19937_64(std::random_device{}())]() mutable {
      return static_cast<long long>(rng() >> 1);
    };
    for (long long num : goro::take(done, goro::repeat_fn(done, rand), 10)) {
      std::printf("%lld\n", num);
    }

    auto to_string = [](goro::done_chan done, goro::recv_chan<std::any> value_stream) {
      return goro::stage(done, value_stream,
                         [](std::any v) { return std::any_cast<std::string>(v); });
    };
    std::string message;
    for (const std::string& token : to_string(
             done,
             goro::take(
                 done, goro::repeat(done, std::any(std::string("I")), std::any(std::string("am."))),
                 5))) {
      message += token;
    }
    std::printf("message: %s...\n", message.c_str());
  });
}
