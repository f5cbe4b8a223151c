// Ports of Go 1.19's runtime/chan_test.go: TestChan, TestNonblockRecvRace,
// TestNonblockSelectRace(2), TestSelfSelect, TestSelectStress, TestSelectFairness,
// TestMultiConsumer, TestPseudoRandomSend, TestSelectDuplicateChannel. Each runs with 1, 2
// and 4 worker threads. Iteration counts sit between Go's -short and full values, so that
// the suite stays fast (GORO_TEST_SOAK=N multiplies them); every check is kept.
#include "test_util.hpp"

#include <array>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <vector>

using namespace goro_test;

namespace {

// The body of Go's TestChan for one channel capacity. Go's t.Fatalf becomes a failed CHECK
// and an early return; the message carries the capacity and thread count.
void test_chan_cap(int cap, unsigned threads) {
  const auto ucap = static_cast<std::size_t>(cap);
  {
    // Ensure that receive from empty chan blocks.
    auto c = goro::make_chan<int>(ucap);
    std::atomic<bool> recv1{false}, recv2{false};
    goro::go([c, &recv1] {
      c.recv();
      recv1 = true;
    });
    goro::go([c, &recv2] {
      c.recv();
      recv2 = true;
    });
    goro::sleep(1ms);
    GO_CHECK_MESSAGE(!(recv1.load() || recv2.load()),
                     "chan[" << cap << "] threads=" << threads << ": receive from empty chan");
    // Ensure that non-blocking receive does not block.
    GO_CHECK_MESSAGE(goro::select(goro::on_recv(c), goro::on_default()) == 1,
                     "chan[" << cap << "]: receive from empty chan");
    GO_CHECK_MESSAGE(
        goro::select(goro::on_recv(c, [](std::optional<int>) {}), goro::on_default()) == 1,
        "chan[" << cap << "]: receive from empty chan");
    c.send(0);
    c.send(0);
    // Unlike Go's test, wait for both receivers: they refer to this frame's flags.
    CHECK(eventually([&] { return recv1.load() && recv2.load(); }));
  }
  {
    // Ensure that send to full chan blocks.
    auto c = goro::make_chan<int>(ucap);
    for (int i = 0; i < cap; ++i) c.send(i);
    std::atomic<std::uint32_t> sent{0};
    goro::go([c, &sent] {
      c.send(0);
      sent = 1;
    });
    goro::sleep(1ms);
    GO_CHECK_MESSAGE(sent.load() == 0,
                     "chan[" << cap << "] threads=" << threads << ": send to full chan");
    // Ensure that non-blocking send does not block.
    GO_CHECK_MESSAGE(goro::select(goro::on_send(c, 0), goro::on_default()) == 1,
                     "chan[" << cap << "]: send to full chan");
    c.recv();
    CHECK(eventually([&] { return sent.load() == 1; }));
  }
  {
    // Ensure that we receive 0 from closed chan (here: the buffered values, then nullopt).
    auto c = goro::make_chan<int>(ucap);
    for (int i = 0; i < cap; ++i) c.send(i);
    c.close();
    for (int i = 0; i < cap; ++i) {
      auto v = c.recv();
      GO_CHECK_MESSAGE(v == std::optional<int>(i), "chan[" << cap << "]: received wrong value");
    }
    GO_CHECK_MESSAGE(c.recv() == std::nullopt, "chan[" << cap << "]: received from closed chan");
    GO_CHECK_MESSAGE(c.recv() == std::nullopt, "chan[" << cap << "]: received from closed chan");
  }
  {
    // Ensure that close unblocks receive.
    auto c = goro::make_chan<int>(ucap);
    auto done = goro::make_chan<bool>();
    goro::go([c, done] {
      auto v = c.recv();
      done.send(!v.has_value());
    });
    goro::sleep(1ms);
    c.close();
    GO_CHECK_MESSAGE(*done.recv(), "chan[" << cap << "]: received non zero from closed chan");
  }
  {
    // Send 100 integers, ensure that we receive them non-corrupted in FIFO order.
    auto c = goro::make_chan<int>(ucap);
    goro::go([c] {
      for (int i = 0; i < 100; ++i) c.send(i);
    });
    bool ok = true;
    for (int i = 0; i < 100; ++i) ok = ok && *c.recv() == i;
    GO_CHECK_MESSAGE(ok, "chan[" << cap << "] threads=" << threads << ": FIFO broken");

    // Same, but using recv2 (the ok form).
    goro::go([c] {
      for (int i = 0; i < 100; ++i) c.send(i);
    });
    ok = true;
    for (int i = 0; i < 100; ++i) {
      auto v = c.recv();
      ok = ok && v.has_value() && *v == i;
    }
    GO_CHECK_MESSAGE(ok, "chan[" << cap << "] threads=" << threads << ": FIFO broken (recv2)");

    // Send 1000 integers in 4 goroutines, ensure that we receive what we send.
    constexpr int P = 4, L = 1000;
    for (int p = 0; p < P; ++p) {
      goro::go([c] {
        for (int i = 0; i < L; ++i) c.send(i);
      });
    }
    auto done = goro::make_chan<std::map<int, int>>();
    for (int p = 0; p < P; ++p) {
      goro::go([c, done] {
        std::map<int, int> recv;
        for (int i = 0; i < L; ++i) ++recv[*c.recv()];
        done.send(std::move(recv));
      });
    }
    std::map<int, int> recv;
    for (int p = 0; p < P; ++p) {
      const std::map<int, int> part = *done.recv();  // not a range-for over a temporary
      for (auto [k, v] : part) recv[k] += v;
    }
    GO_CHECK_MESSAGE(recv.size() == static_cast<std::size_t>(L),
                     "chan[" << cap << "] threads=" << threads << ": received " << recv.size()
                             << " values, expected " << L);
    bool all_p = true;
    for (auto [k, v] : recv) all_p = all_p && v == P;
    GO_CHECK_MESSAGE(all_p, "chan[" << cap << "] threads=" << threads << ": a value not received "
                                    << P << " times");
  }
  {
    // Test len/cap.
    auto c = goro::make_chan<int>(ucap);
    GO_CHECK_MESSAGE((c.len() == 0 && c.cap() == ucap), "chan[" << cap << "]: bad len/cap");
    for (int i = 0; i < cap; ++i) c.send(i);
    GO_CHECK_MESSAGE((c.len() == ucap && c.cap() == ucap), "chan[" << cap << "]: bad len/cap");
  }
}

}  // namespace

TEST_CASE("Go TestChan") {
  // Go: capacities 0..199, or 0..19 with -short.
  const int caps = iterations(50);
  for (unsigned n : kThreadCounts) {
    run_on(n, [n, caps] {
      for (int cap = 0; cap < caps; ++cap) test_chan_cap(cap, n);
    });
  }
}

TEST_CASE("Go TestNonblockRecvRace") {
  // Go: 10000 iterations, 100 with -short.
  const int iters = iterations(live(10000));
  for (unsigned n : kThreadCounts) {
    std::atomic<int> not_ready{0};
    run_on(n, [&, iters] {
      for (int i = 0; i < iters; ++i) {
        auto c = goro::make_chan<int>(1);
        c.send(1);
        goro::go([c, &not_ready] {
          if (goro::select(goro::on_recv(c), goro::on_default()) == 1) ++not_ready;
        });
        c.close();
        c.recv();
        if (not_ready.load() != 0) break;
      }
      // The last goroutine refers to not_ready: let it finish before the frame goes.
      CHECK(eventually([] { return goro::num_goroutine() == 1; }));
    });
    GO_CHECK_MESSAGE(not_ready.load() == 0, "threads=" << n << ": chan is not ready");
  }
}

TEST_CASE("Go TestNonblockSelectRace") {
  // Go: 100000 iterations, 1000 with -short. From the moment the goroutine starts, c1 or c2
  // is always ready, so its non-blocking select must never take the default.
  const int iters = iterations(20000);
  for (unsigned n : kThreadCounts) {
    int failed = 0;
    run_on(n, [&, iters] {
      auto done = goro::make_chan<bool>(1);
      for (int i = 0; i < iters; ++i) {
        auto c1 = goro::make_chan<int>(1);
        auto c2 = goro::make_chan<int>(1);
        c1.send(1);
        goro::go([c1, c2, done] {
          const auto k = goro::select(goro::on_recv(c1), goro::on_recv(c2), goro::on_default());
          done.send(k != 2);
        });
        c2.send(1);
        goro::select(goro::on_recv(c1), goro::on_default());
        if (!*done.recv()) {
          ++failed;
          break;
        }
      }
    });
    GO_CHECK_MESSAGE(failed == 0, "threads=" << n << ": no chan is ready");
  }
}

TEST_CASE("Go TestNonblockSelectRace2") {
  // Same, with close(c2) in place of c2 <- 1.
  const int iters = iterations(20000);
  for (unsigned n : kThreadCounts) {
    int failed = 0;
    run_on(n, [&, iters] {
      auto done = goro::make_chan<bool>(1);
      for (int i = 0; i < iters; ++i) {
        auto c1 = goro::make_chan<int>(1);
        auto c2 = goro::make_chan<int>();
        c1.send(1);
        goro::go([c1, c2, done] {
          const auto k = goro::select(goro::on_recv(c1), goro::on_recv(c2), goro::on_default());
          done.send(k != 2);
        });
        c2.close();
        goro::select(goro::on_recv(c1), goro::on_default());
        if (!*done.recv()) {
          ++failed;
          break;
        }
      }
    });
    GO_CHECK_MESSAGE(failed == 0, "threads=" << n << ": no chan is ready");
  }
}

TEST_CASE("Go TestSelfSelect") {
  // Send and receive on the same channel in one select must neither crash nor deadlock, and
  // on an unbuffered channel a goroutine never receives its own value.
  for (unsigned n : kThreadCounts) {
    for (std::size_t cap : {0u, 10u}) {
      std::atomic<int> self_receives{0};
      run_on(n, [&, cap] {
        goro::wait_group wg;
        auto c = goro::make_chan<int>(cap);
        for (int p = 0; p < 2; ++p) {
          wg.go([&, c, p] {
            for (int i = 0; i < 1000; ++i) {
              auto on_value = [&](std::optional<int> v) {
                if (cap == 0 && v && *v == p) ++self_receives;
              };
              if (p == 0 || i % 2 == 0) {
                goro::select(goro::on_send(c, p), goro::on_recv(c, on_value));
              } else {
                goro::select(goro::on_recv(c, on_value), goro::on_send(c, p));
              }
              if (self_receives.load() != 0) return;
            }
          });
        }
        wg.wait();
      });
      GO_CHECK_MESSAGE(self_receives.load() == 0,
                       "threads=" << n << " cap=" << cap << ": self receive");
    }
  }
}

TEST_CASE("Go TestSelectStress") {
  // 4 goroutines send N values on each channel, 4 receive N from each, one sends N on each
  // in a single select and one receives N from each in a single select, switching finished
  // channels off with nil. All of it must finish without deadlock. Go: N = 1e5, 1e4 with
  // -short.
  const int N = iterations(20000);
  for (unsigned n : kThreadCounts) {
    std::array<int, 4> sent_by_select{}, received_by_select{};
    run_on(n, [&, N] {
      std::array<goro::chan<int>, 4> c{goro::make_chan<int>(), goro::make_chan<int>(),
                                       goro::make_chan<int>(2), goro::make_chan<int>(3)};
      goro::wait_group wg;
      for (int k = 0; k < 4; ++k) {
        wg.go([ck = c[k], N] {
          for (int i = 0; i < N; ++i) ck.send(0);
        });
        wg.go([ck = c[k], N] {
          for (int i = 0; i < N; ++i) ck.recv();
        });
      }
      wg.go([&, c, N]() mutable {
        auto& cnt = sent_by_select;
        for (int i = 0; i < 4 * N; ++i) {
          const auto k = goro::select(goro::on_send(c[3], 0), goro::on_send(c[2], 0),
                                      goro::on_send(c[0], 0), goro::on_send(c[1], 0));
          const int idx = std::array<int, 4>{3, 2, 0, 1}[k];
          if (++cnt[idx] == N) c[idx] = nullptr;
        }
      });
      wg.go([&, c, N]() mutable {
        auto& cnt = received_by_select;
        for (int i = 0; i < 4 * N; ++i) {
          const auto k = goro::select(goro::on_recv(c[0]), goro::on_recv(c[1]), goro::on_recv(c[2]),
                                      goro::on_recv(c[3]));
          if (++cnt[k] == N) c[k] = nullptr;
        }
      });
      wg.wait();
    });
    for (int k = 0; k < 4; ++k) {
      GO_CHECK_MESSAGE(sent_by_select[k] == N, "threads=" << n << " chan " << k);
      GO_CHECK_MESSAGE(received_by_select[k] == N, "threads=" << n << " chan " << k);
    }
  }
}

TEST_CASE("Go TestSelectFairness") {
  // Two always-ready channels and two never-ready ones: the select must pick the ready ones
  // equally often, within Go's tolerance (six nines of confidence).
  constexpr int trials = 10000;
  for (unsigned n : kThreadCounts) {
    int cnt1 = 0, cnt2 = 0, unexpected = 0;
    run_on(n, [&] {
      auto c1 = goro::make_chan<unsigned char>(trials + 1);
      auto c2 = goro::make_chan<unsigned char>(trials + 1);
      for (int i = 0; i < trials + 1; ++i) {
        c1.send(1);
        c2.send(2);
      }
      auto c3 = goro::make_chan<unsigned char>();
      auto c4 = goro::make_chan<unsigned char>();
      auto out = goro::make_chan<unsigned char>();
      auto done = goro::make_chan<unsigned char>();
      goro::wait_group wg;
      wg.go([=] {
        for (;;) {
          unsigned char b = 0;
          auto take = [&](std::optional<unsigned char> v) { b = *v; };
          goro::select(goro::on_recv(c3, take), goro::on_recv(c4, take), goro::on_recv(c1, take),
                       goro::on_recv(c2, take));
          if (goro::select(goro::on_send(out, b), goro::on_recv(done)) == 1) return;
        }
      });
      for (int i = 0; i < trials; ++i) {
        switch (*out.recv()) {
          case 1:
            ++cnt1;
            break;
          case 2:
            ++cnt2;
            break;
          default:
            ++unexpected;
        }
      }
      done.close();
      wg.wait();
    });
    const double r = static_cast<double>(cnt1) / trials;
    const double e = std::abs(r - 0.5);
    CHECK(unexpected == 0);
    GO_CHECK_MESSAGE(e <= 4.891676 / (2 * std::sqrt(double(trials))),
                     "threads=" << n << ": unfair select: in " << trials << " trials, results were "
                                << cnt1 << ", " << cnt2);
  }
}

TEST_CASE("Go TestPseudoRandomSend") {
  // A select of two sends to one channel must pick both, pseudo-randomly.
  constexpr int kN = 100;
  for (unsigned n : kThreadCounts) {
    for (std::size_t cap : {std::size_t{0}, std::size_t{kN}}) {
      std::vector<int> l(kN);
      run_on(n, [&, cap] {
        auto c = goro::make_chan<int>(cap);
        goro::mutex m;
        m.lock();
        goro::go([&, c] {
          for (int i = 0; i < kN; ++i) {
            goro::yield();
            l[i] = *c.recv();
          }
          m.unlock();  // unlocked by another goroutine, as in Go's test
        });
        for (int i = 0; i < kN; ++i) goro::select(goro::on_send(c, 1), goro::on_send(c, 0));
        m.lock();  // wait
        m.unlock();
      });
      int n0 = 0, n1 = 0;
      for (int i : l) {
        n0 += (i + 1) % 2;
        n1 += i;
      }
      GO_CHECK_MESSAGE((n0 > kN / 10 && n1 > kN / 10),
                       "threads=" << n << ": want pseudorandom, got " << n0 << " zeros and " << n1
                                  << " ones (chan cap " << cap << ")");
    }
  }
}

TEST_CASE("Go TestMultiConsumer") {
  // 23 workers range over one channel and forward to another; the sum and count must match.
  // Go: 271828 iterations, as here.
  constexpr int nwork = 23;
  const int niter = iterations(271828);
  static constexpr int pn[] = {2, 3, 7, 11, 13, 17, 19, 23, 27, 31};
  constexpr int npn = static_cast<int>(std::size(pn));
  for (unsigned threads : kThreadCounts) {
    long expect = 0, s = 0;
    int n = 0;
    run_on(threads, [&, niter] {
      auto q = goro::make_chan<int>(nwork * 3);
      auto r = goro::make_chan<int>(nwork * 3);
      // workers
      auto wg = std::make_shared<goro::wait_group>();
      for (int i = 0; i < nwork; ++i) {
        wg->add(1);
        goro::go(
            [q, r, wg](int w) {
              for (int v : q) {
                // mess with the fifo-ish nature of range
                if (pn[w % npn] == v) goro::yield();
                r.send(v);
              }
              wg->done();
            },
            i);
      }
      // feeder & closer
      goro::go([&expect, q, r, wg, niter] {
        for (int i = 0; i < niter; ++i) {
          const int v = pn[i % npn];
          expect += v;
          q.send(v);
        }
        q.close();   // no more work
        wg->wait();  // workers done
        r.close();   // ... so there can be no more results
      });
      // consume & check
      for (int v : r) {
        ++n;
        s += v;
      }
    });
    GO_CHECK_MESSAGE((n == niter && s == expect), "threads=" << threads << ": expected sum "
                                                             << expect << " (got " << s << ") from "
                                                             << niter << " iter (saw " << n << ")");
  }
}

TEST_CASE("Go TestSelectDuplicateChannel") {
  // A goroutine queued twice on one channel by a select must dequeue itself cleanly when
  // another case fires; the channel's queue must stay sane for the next receiver.
  for (unsigned n : kThreadCounts) {
    bool b_woke = false;
    run_on(n, [&] {
      auto c = goro::make_chan<int>();
      auto d = goro::make_chan<int>();
      auto e = goro::make_chan<int>();
      // goroutine A
      goro::go([c, d, e] {
        goro::select(goro::on_recv(c), goro::on_recv(c), goro::on_recv(d));
        e.send(9);
      });
      // Make sure goroutine A gets queued first on c (Go sleeps 1 ms; waiting for it to
      // park is the same, without depending on the machine's load).
      GO_CHECK_MESSAGE(wait_parked(1), "threads=" << n);
      // goroutine B
      auto b_done = goro::make_chan<int>(1);
      goro::go([c, b_done] { b_done.send(*c.recv()); });
      GO_CHECK_MESSAGE(wait_parked(2), "threads=" << n);  // B is queued on c now
      d.send(7);                                          // wake up A; it dequeues itself from c
      e.recv();                                           // A tells us it's done
      // Wake up B. If c's queue were corrupted this would wake a finished A, not B: bound
      // the wait so that such a bug fails instead of hanging.
      GO_CHECK_MESSAGE(send_for(c, 8, 10s), "threads=" << n << ": nobody received on c");
      auto got = recv_for(b_done, 10s);
      b_woke = got && *got && **got == 8;
    });
    GO_CHECK_MESSAGE(b_woke, "threads=" << n);
  }
}
