// Preventing goroutine leaks. A goroutine blocked forever on a channel is never collected:
// whoever starts a goroutine must be able to stop it. By convention a `done` channel, passed
// first, is closed to tell it to return. That works for a goroutine blocked receiving
// (select on the input and on done) and for one blocked sending (select on the send and on
// done). Go original: samples/go/goroutine_leak/main.go.
//
// goro::testing::leak_check finds such leaks in tests.
#include <cstdio>
#include <random>
#include <string>

#include <goro/goro.hpp>

#include "sample.hpp"

using namespace std::chrono_literals;

namespace {

// rand.Int(): a non-negative pseudo-random 63-bit integer. (Go's generator is not
// reproduced, so the numbers differ from the Go program's.)
long long rand_int() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return static_cast<long long>(rng() >> 1);
}

}  // namespace

int main() {
  return goro::run([] {
    std::printf("-- receiving side: a leak --\n");
    {
      auto do_work = [](goro::recv_chan<std::string> strings) -> goro::recv_chan<goro::unit> {
        auto completed = goro::make_chan<goro::unit>();
        goro::go([strings, completed] {
          goro::defer exited([] { std::printf("doWork exited.\n"); });
          goro::defer close_it([completed] { completed.close(); });
          for (const std::string& s : strings) {
            // Do something interesting
            std::printf("%s\n", s.c_str());
          }
        });
        return completed;
      };
      do_work(nullptr);  // ranging over a nil channel blocks forever
      // Perhaps more work is done here
      std::printf("Done.\n");
      std::printf("goroutines: %zu\n", goro::num_goroutine());  // main and the leaked doWork
    }

    std::printf("-- receiving side: fixed with a done channel --\n");
    {
      auto do_work = [](goro::done_chan done, goro::recv_chan<std::string> strings) {
        auto terminated = goro::make_chan<goro::unit>();
        goro::go([done, strings, terminated] {
          // Like Go's defers these run in reverse: terminated closes first, so main may print
          // "Done." before this goroutine prints "doWork exited." (in Go as well).
          goro::defer exited([] { std::printf("doWork exited.\n"); });
          goro::defer close_it([terminated] { terminated.close(); });
          for (;;) {
            bool stop = false;
            goro::select(goro::on_recv(strings,
                                       [](std::optional<std::string> s) {
                                         // Do something interesting
                                         std::printf("%s\n", s ? s->c_str() : "");
                                       }),
                         goro::on_recv(done, [&](auto) { stop = true; }));
            if (stop) return;
          }
        });
        return goro::recv_chan<goro::unit>(terminated);
      };
      auto done = goro::make_chan<goro::unit>();
      auto terminated = do_work(done, nullptr);
      goro::go([done] {
        // Cancel the operation after 1 second.
        goro::sleep(1s);
        std::printf("Canceling doWork goroutine...\n");
        done.close();
      });
      terminated.recv();
      std::printf("Done.\n");
      sample::await_goroutines(2);  // main and the leaked doWork of the first section
    }

    std::printf("-- receiving side: a stream, canceled --\n");
    {
      auto do_work = [](goro::recv_chan<bool> done, goro::recv_chan<std::string> stream) {
        auto terminated = goro::make_chan<bool>();
        goro::go([done, stream, terminated] {
          goro::defer exited([] { std::printf("doWork exited.\n"); });
          goro::defer close_it([terminated] { terminated.close(); });
          for (;;) {
            bool stop = false;
            goro::select(goro::on_recv(stream,
                                       [&](std::optional<std::string> s) {
                                         if (!s) {
                                           std::printf("Nothing to stream...\n");
                                           stop = true;
                                           return;
                                         }
                                         std::printf("Here: %s\n", s->c_str());
                                       }),
                         goro::on_recv(done, [&](auto) {
                           std::printf("Received done signal.\n");
                           stop = true;
                         }));
            if (stop) return;
          }
        });
        return goro::recv_chan<bool>(terminated);
      };
      auto done = goro::make_chan<bool>();
      auto stream = goro::make_chan<std::string>();
      auto terminated = do_work(done, stream);  // will not cause deadlock if stream is nil

      goro::go([done] {
        goro::defer close_it([done] { done.close(); });
        goro::defer cancelling([] { std::printf("Cancelling doWork goroutine...\n"); });
        goro::sleep(1s);
      });

      goro::go([stream] {
        goro::defer close_it([stream] { stream.close(); });
        for (std::string s : {"a", "b", "c", "d", "e", "f", "g", "h"}) {
          stream.send(s);
          goro::sleep(200ms);
        }
      });

      terminated.recv();
      std::printf("Done!\n");
      sample::await_goroutines(3);  // and the stream's sender, blocked for good on its send
    }

    std::printf("-- sending side: a leak --\n");
    {
      auto new_rand_stream = [] {
        auto rand_stream = goro::make_chan<long long>();
        goro::go([rand_stream] {
          goro::defer exited([] { std::printf("newRandStream closure exited.\n"); });
          goro::defer close_it([rand_stream] { rand_stream.close(); });
          for (;;) rand_stream.send(rand_int());
        });
        return goro::recv_chan<long long>(rand_stream);
      };
      auto rand_stream = new_rand_stream();
      std::printf("3 random ints:\n");
      for (int i = 1; i <= 3; i++) std::printf("%d: %lld\n", i, *rand_stream.recv());
    }

    std::printf("-- sending side: fixed with a done channel --\n");
    {
      auto gen_random_int_stream = [](goro::recv_chan<bool> done) {
        auto rand_int_stream = goro::make_chan<long long>();
        goro::go([done, rand_int_stream] {
          goro::defer exited([] { std::printf("genRandomIntStream exited.\n"); });
          goro::defer close_it([rand_int_stream] { rand_int_stream.close(); });
          for (;;) {
            if (goro::select(goro::on_send(rand_int_stream, rand_int()), goro::on_recv(done)) ==
                1) {
              return;
            }
          }
        });
        return goro::recv_chan<long long>(rand_int_stream);
      };
      auto done = goro::make_chan<bool>();
      auto rand_stream = gen_random_int_stream(done);
      std::printf("3 random ints:\n");
      for (int i = 0; i < 3; i++) std::printf("%d: %lld\n", i + 1, *rand_stream.recv());
      done.close();
      goro::sleep(1s);
    }
  });
}
