#include <goro/patterns/or_channel.hpp>

#include <span>
#include <utility>
#include <vector>

#include <goro/chan.hpp>
#include <goro/detail/pattern_support.hpp>
#include <goro/select.hpp>

namespace goro {

done_chan or_channel(std::vector<done_chan> chans, const std::source_location& where) {
  std::erase_if(chans, [](const done_chan& c) { return c == nullptr; });
  if (chans.empty()) return {};
  if (chans.size() == 1) return chans.front();
  chan<unit> out = make_chan<unit>();
  detail::pattern_go(where, [chans = std::move(chans), out] {
    detail::close_on_exit<unit> closer(out);
    std::vector<select_case> cases;
    cases.reserve(chans.size());
    for (const done_chan& c : chans) cases.push_back(on_recv(c));
    goro::select(std::span<select_case>(cases));
  });
  return out;
}

done_chan or_channel(const std::vector<chan<unit>>& chans, const std::source_location& where) {
  return or_channel(std::vector<done_chan>(chans.begin(), chans.end()), where);
}

}  // namespace goro
