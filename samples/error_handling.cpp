// Error handling: a goroutine should not decide alone what to do with an error. It sends
// the error along with its result (goro::result<T>: a value or a std::exception_ptr) to
// the code that has the whole picture, which may, say, give up after three errors.
//
// http_get stands in for Go's http.Get (the samples run without a network) and fails the
// way http.Get does. Go original: samples/go/error_handling/main.go.
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <goro/goro.hpp>

namespace {

struct response {
  std::string status;
};

// Throws what http.Get would return as its error.
response http_get(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) {
    throw std::runtime_error("Get \"" + url + "\": unsupported protocol scheme \"\"");
  }
  if (url == "https://www.google.com") return {"200 OK"};
  std::string host = url.substr(scheme + 3);
  throw std::runtime_error("Get \"" + url + "\": dial tcp: lookup " + host + ": no such host");
}

}  // namespace

int main() {
  return goro::run([] {
    std::printf("-- the goroutine prints its errors (and nobody else sees them) --\n");
    {
      auto check_status = [](goro::done_chan done, std::vector<std::string> urls) {
        auto responses = goro::make_chan<response>();
        goro::go([done, urls, responses] {
          goro::defer close_it([responses] { responses.close(); });
          for (const std::string& url : urls) {
            response resp;
            try {
              resp = http_get(url);
            } catch (const std::exception& err) {
              std::printf("%s\n", err.what());
              continue;
            }
            if (goro::select(goro::on_recv(done), goro::on_send(responses, resp)) == 0) return;
          }
        });
        return goro::recv_chan<response>(responses);
      };
      auto done = goro::make_chan<goro::unit>();
      goro::defer close_done([done] { done.close(); });
      for (const response& r : check_status(done, {"https://www.google.com", "https://badhost"})) {
        std::printf("Response: %s\n", r.status.c_str());
      }
    }

    // type Result struct { Error error; Response *http.Response }
    using result = goro::result<response>;
    auto check_status = [](goro::done_chan done, std::vector<std::string> urls) {
      auto results = goro::make_chan<result>();
      goro::go([done, urls, results] {
        goro::defer close_it([results] { results.close(); });
        for (const std::string& url : urls) {
          result res = goro::try_invoke(http_get, url);
          if (goro::select(goro::on_recv(done), goro::on_send(results, std::move(res))) == 0) {
            return;
          }
        }
      });
      return goro::recv_chan<result>(results);
    };

    std::printf("-- errors coupled with the results --\n");
    {
      auto done = goro::make_chan<goro::unit>();
      goro::defer close_done([done] { done.close(); });
      for (const result& res : check_status(done, {"https://www.google.com", "https://badhost"})) {
        if (res.error()) {
          std::printf("error: %s\n", goro::error_message(res.error()).c_str());
          continue;
        }
        std::printf("Response: %s\n", res->status.c_str());
      }
    }

    std::printf("-- the caller decides: stop after three errors --\n");
    {
      auto done = goro::make_chan<goro::unit>();
      goro::defer close_done([done] { done.close(); });
      int err_count = 0;
      for (const result& res : check_status(done, {"a", "https://www.google.com", "b", "c", "d"})) {
        if (res.error()) {
          std::printf("error: %s\n", goro::error_message(res.error()).c_str());
          err_count++;
          if (err_count >= 3) {
            std::printf("Too many errors, breaking!\n");
            break;
          }
          continue;
        }
        std::printf("Response: %s\n", res->status.c_str());
      }
    }
  });
}
