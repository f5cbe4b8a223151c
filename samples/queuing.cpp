// Queuing: accept work before the pipeline is ready for it.
//
// First the book's pipeline (take 3 zeros, a short stage, a long stage), without and with
// a queue of 2 (goro::buffer) between the stages, with the book's seconds scaled down to
// 10 ms units: the queue frees the short stage early, but the pipeline is not faster.
// Then Little's law, L = λW, measured on a queue in front of a slow stage for several queue
// lengths: the slow stage sets the throughput λ, so a longer queue only raises L, the units
// in the system, and with it W, the time each unit spends there. Queue at the entrance, or
// where batching pays; not to go faster. Go original: samples/go/queuing/main.go.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>

#include <goro/goro.hpp>

using namespace std::chrono_literals;

namespace {

// A stage that takes d per value; finished() runs when it has sent its last value.
template <class T>
goro::recv_chan<T> sleep_stage(goro::done_chan done, goro::clock::duration d, goro::recv_chan<T> in,
                               std::function<void()> finished) {
  auto out = goro::make_chan<T>();
  goro::go([done, d, in, out, finished] {
    goro::defer close_it([out] { out.close(); });
    goro::defer report([finished] { finished(); });
    for (T v : in) {
      goro::sleep(d);
      if (goro::select(goro::on_recv(done), goro::on_send(out, std::move(v))) == 0) return;
    }
  });
  return out;
}

std::string round10(goro::clock::duration d) {
  auto ms = std::chrono::round<std::chrono::milliseconds>(d).count();
  return goro::format_duration(std::chrono::milliseconds((ms + 5) / 10 * 10));
}

void book_pipeline(std::size_t queue) {
  auto done = goro::make_chan<goro::unit>();
  goro::defer close_done([done] { done.close(); });
  auto start = goro::clock::now();
  std::atomic<goro::clock::duration> short_done{};
  auto zeros = goro::take(done, goro::repeat(done, 0), 3);
  auto short_ = sleep_stage(done, 10ms, zeros, [&] { short_done = goro::clock::now() - start; });
  goro::recv_chan<int> mid = short_;
  if (queue > 0) mid = goro::buffer(done, short_, queue);
  auto long_ = sleep_stage(done, 40ms, mid, [] {});
  for (int v : long_) (void)v;
  auto total = goro::clock::now() - start;
  if (queue == 0) {
    std::printf("without a queue: short stage done after %s, pipeline done after %s\n",
                round10(short_done.load()).c_str(), round10(total).c_str());
  } else {
    std::printf("with a queue of %zu: short stage done after %s, pipeline done after %s\n", queue,
                round10(short_done.load()).c_str(), round10(total).c_str());
  }
}

struct item {
  goro::clock::time_point entered;
};

void littles_law(std::size_t queue) {
  constexpr int items = 200;
  constexpr auto service = 1ms;
  auto done = goro::make_chan<goro::unit>();
  goro::defer close_done([done] { done.close(); });
  std::atomic<long> in_system{0};

  auto in = goro::make_chan<item>();
  goro::go([done, in, &in_system] {  // as fast as the system takes them
    goro::defer close_it([in] { in.close(); });
    for (int i = 0; i < items; i++) {
      in_system++;
      if (goro::select(goro::on_recv(done), goro::on_send(in, item{goro::clock::now()})) == 0) {
        return;
      }
    }
  });
  goro::recv_chan<item> queued = in;
  if (queue > 0) queued = goro::buffer(done, in, queue);

  // Sample the number of units in the system.
  auto stop_sampling = goro::make_chan<goro::unit>();
  auto samples = goro::make_chan<double>();
  goro::go([stop_sampling, samples, &in_system] {
    double sum = 0;
    int n = 0;
    goro::ticker tick(200us);
    for (;;) {
      bool stop = false;
      goro::select(goro::on_recv(stop_sampling, [&](auto) { stop = true; }),
                   goro::on_recv(tick.c(), [&](auto) {
                     sum += static_cast<double>(in_system.load());
                     n++;
                   }));
      if (stop) break;
    }
    samples.send(sum / n);
  });

  auto start = goro::clock::now();
  std::chrono::duration<double> total_w{0};
  for (item v : queued) {  // the slow stage
    goro::sleep(service);
    total_w += goro::clock::now() - v.entered;
    in_system--;
  }
  std::chrono::duration<double> elapsed = goro::clock::now() - start;
  stop_sampling.close();
  double L = *samples.recv();
  double lambda = items / elapsed.count();
  double W = total_w.count() / items;
  std::printf("queue length %2zu: throughput %4.0f/s, W = %5.2f ms, L = %5.2f, λW = %5.2f\n", queue,
              lambda, W * 1000, L, lambda * W);
}

}  // namespace

int main() {
  return goro::run([] {
    std::printf("-- the book's pipeline --\n");
    book_pipeline(0);
    book_pipeline(2);
    std::printf("-- Little's law: L = λW --\n");
    for (std::size_t q : {0, 1, 4, 16}) littles_law(q);
  });
}
