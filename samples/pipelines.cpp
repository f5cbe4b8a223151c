// Pipelines: a series of stages, each taking data in, working on it and passing it on.
//
// Batch stages work on a whole slice at a time, stream stages on one value at a time.
// Connected by channels, the stages run concurrently, and a done channel stops them all.
// goro::generator and goro::stage are the generator and the generic stage written out
// here. Go original: samples/go/pipelines/main.go.
#include <cstdio>
#include <vector>

#include <goro/goro.hpp>

int main() {
  return goro::run([] {
    std::printf("-- batch processing --\n");
    {
      auto multiply = [](const std::vector<int>& values, int multiplier) {
        std::vector<int> multiplied_values(values.size());
        for (std::size_t i = 0; i < values.size(); i++)
          multiplied_values[i] = values[i] * multiplier;
        return multiplied_values;
      };
      auto add = [](const std::vector<int>& values, int additive) {
        std::vector<int> added_values(values.size());
        for (std::size_t i = 0; i < values.size(); i++) added_values[i] = values[i] + additive;
        return added_values;
      };
      std::vector<int> ints{1, 2, 3, 4};
      for (int v : add(multiply(ints, 2), 1)) std::printf("%d\n", v);
      for (int v : multiply(add(multiply(ints, 2), 1), 2)) std::printf("%d\n", v);
    }

    std::printf("-- stream processing --\n");
    {
      auto multiply = [](int value, int multiplier) { return value * multiplier; };
      auto add = [](int value, int additive) { return value + additive; };
      for (int v : {1, 2, 3, 4}) std::printf("%d\n", multiply(add(multiply(v, 2), 1), 2));
    }

    std::printf("-- a pipeline of channels --\n");
    {
      auto generator = [](goro::done_chan done, std::vector<int> integers) {
        auto int_stream = goro::make_chan<int>();
        goro::go([done, integers, int_stream] {
          goro::defer close_it([int_stream] { int_stream.close(); });
          for (int i : integers) {
            if (goro::select(goro::on_recv(done), goro::on_send(int_stream, i)) == 0) return;
          }
        });
        return goro::recv_chan<int>(int_stream);
      };
      auto multiply = [](goro::done_chan done, goro::recv_chan<int> int_stream, int multiplier) {
        auto multiplied_stream = goro::make_chan<int>();
        goro::go([done, int_stream, multiplier, multiplied_stream] {
          goro::defer close_it([multiplied_stream] { multiplied_stream.close(); });
          for (int i : int_stream) {
            if (goro::select(goro::on_recv(done),
                             goro::on_send(multiplied_stream, i * multiplier)) == 0) {
              return;
            }
          }
        });
        return goro::recv_chan<int>(multiplied_stream);
      };
      auto add = [](goro::done_chan done, goro::recv_chan<int> int_stream, int additive) {
        auto added_stream = goro::make_chan<int>();
        goro::go([done, int_stream, additive, added_stream] {
          goro::defer close_it([added_stream] { added_stream.close(); });
          for (int i : int_stream) {
            if (goro::select(goro::on_recv(done), goro::on_send(added_stream, i + additive)) == 0) {
              return;
            }
          }
        });
        return goro::recv_chan<int>(added_stream);
      };
      auto done = goro::make_chan<goro::unit>();
      goro::defer close_done([done] { done.close(); });
      auto int_stream = generator(done, {1, 2, 3, 4});
      auto pipeline = multiply(done, add(done, multiply(done, int_stream, 2), 1), 2);
      for (int v : pipeline) std::printf("%d\n", v);
    }

    std::printf("-- the same with one generic stage --\n");
    {
      auto multiply = [](int m) { return [m](int v) { return v * m; }; };
      auto add = [](int a) { return [a](int v) { return v + a; }; };
      auto done = goro::make_chan<goro::unit>();
      goro::defer close_done([done] { done.close(); });
      auto pipeline = goro::stage(
          done,
          goro::stage(done, goro::stage(done, goro::generator(done, 1, 2, 3, 4), multiply(2)),
                      add(1)),
          multiply(2));
      for (int v : pipeline) std::printf("%d\n", v);
    }
  });
}
