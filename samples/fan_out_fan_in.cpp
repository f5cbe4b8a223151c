// Fan-out, fan-in: run a slow, order-independent stage (a naive prime finder) on several
// goroutines, then merge their results.
//
// The first search uses one prime finder; the second one per worker thread
// (goro::gomaxprocs(); set the GOMAXPROCS environment variable to change it), merged with
// goro::fan_in, which is Go's fanIn. The speed-up is at most the number of free cores.
// The book draws from rand.Intn(50000000); the bound is smaller here so that the sample
// runs in about a second. Go original: samples/go/fan_out_fan_in/main.go.
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include <goro/goro.hpp>

constexpr long bound = 2000000;

// Go's primeFinder, as in the book: deliberately slow.
goro::recv_chan<long> prime_finder(goro::done_chan done, goro::recv_chan<long> int_stream) {
  auto prime_stream = goro::make_chan<long>();
  goro::go([done, int_stream, prime_stream] {
    goro::defer close_it([prime_stream] { prime_stream.close(); });
    for (long integer : int_stream) {
      integer -= 1;
      bool prime = true;
      for (long divisor = integer - 1; divisor > 1; divisor--) {
        if (integer % divisor == 0) {
          prime = false;
          break;
        }
      }
      if (prime) {
        if (goro::select(goro::on_recv(done), goro::on_send(prime_stream, integer)) == 0) return;
      }
    }
  });
  return prime_stream;
}

int main() {
  return goro::run([] {
    // rand.Intn(bound). (Go's generator is not reproduced: the numbers differ.)
    auto rand = [rng = std::mt19937(1)]() mutable {
      return std::uniform_int_distribution<long>(0, bound - 1)(rng);
    };

    std::chrono::duration<double> sequential;
    {
      auto done = goro::make_chan<goro::unit>();
      auto start = goro::clock::now();
      auto rand_int_stream = goro::repeat_fn(done, rand);
      std::printf("Primes:\n");
      for (long prime : goro::take(done, prime_finder(done, rand_int_stream), 10)) {
        std::printf("\t%ld\n", prime);
      }
      sequential = goro::clock::now() - start;
      std::printf("Search took: %s\n", goro::format_duration(sequential).c_str());
      done.close();
    }
    {
      auto done = goro::make_chan<goro::unit>();
      auto start = goro::clock::now();
      auto rand_int_stream = goro::repeat_fn(done, rand);
      unsigned num_finders = goro::gomaxprocs();
      std::printf("Spinning up %u prime finders.\n", num_finders);
      std::vector<goro::recv_chan<long>> finders(num_finders);
      std::printf("Primes:\n");
      for (unsigned i = 0; i < num_finders; i++) finders[i] = prime_finder(done, rand_int_stream);
      for (long prime : goro::take(done, goro::fan_in(done, finders), 10)) {
        std::printf("\t%ld\n", prime);
      }
      std::chrono::duration<double> parallel = goro::clock::now() - start;
      std::printf("Search took: %s\n", goro::format_duration(parallel).c_str());
      std::printf("Speed-up: %.1fx\n", sequential / parallel);
      done.close();
    }
  });
}
