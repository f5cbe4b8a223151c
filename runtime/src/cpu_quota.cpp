// Reads the cgroup CPU quota the way Go 1.25 does (internal/runtime/cgroup/cgroup_linux.go):
//
// - /proc/self/cgroup names the process's cgroup in each hierarchy: "0::<path>" for cgroup
//   v2, "<id>:<controllers>:<path>" for v1. A v1 hierarchy with the cpu controller takes
//   precedence over v2 (a hybrid system puts the CPU controller there).
// - /proc/self/mountinfo says where that hierarchy is mounted: a cgroup2 file system, or a
//   cgroup one with "cpu" among its super options.
// - The limit is the mount point's <path>/cpu.max ("<quota> <period>", or "max <period>":
//   no limit) for v2, cpu.cfs_quota_us / cpu.cfs_period_us (a quota of -1: no limit) for v1.
//
// As Go, only the process's own (leaf) cgroup is read, not its parents': Go's comment is
// that container runtimes hide the parents from the container anyway, and a default that
// differs from Go's would surprise a port. One addition: a mount whose root (mountinfo's
// field 4) is not "/" (a cgroup v1 container without a cgroup namespace, whose mount shows
// only its own cgroup) has that root taken off the path before it is appended to the
// mount point; Go appends the whole path, finds no file there and assumes no limit.
#include "cpu_quota.hpp"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <vector>

namespace goro::detail {

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t i = s.find(sep);
    out.push_back(s.substr(0, i));
    if (i == std::string_view::npos) return out;
    s.remove_prefix(i + 1);
  }
}

bool has_cpu(std::string_view list) {  // a comma-separated list holds "cpu"
  const auto items = split(list, ',');
  return std::find(items.begin(), items.end(), "cpu") != items.end();
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo (Linux's show_path).
std::string unescape(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 3 < in.size()) {
      const std::string_view d = in.substr(i + 1, 3);
      if (std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out += static_cast<char>((d[0] - '0') * 64 + (d[1] - '0') * 8 + (d[2] - '0'));
        i += 3;
        continue;
      }
    }
    out += in[i];
  }
  return out;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  if (s.empty()) return std::nullopt;
  const std::string text(s);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return std::nullopt;
  return v;
}

struct cgroup_dir {
  std::string path;  // the cgroup's directory
  int version = 0;   // 1 or 2
};

// The process's CPU cgroup, relative to its hierarchy's root (parseCPURelativePath).
std::optional<cgroup_dir> relative_path(const std::string& root) {
  const auto text = read_file(root + "/proc/self/cgroup");
  if (!text) return std::nullopt;
  std::optional<cgroup_dir> v2;
  for (std::string_view line : split(*text, '\n')) {
    const std::size_t a = line.find(':');
    const std::size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    const std::string_view id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1);
    const std::string path(line.substr(b + 1));
    if (id == "0") {
      v2 = cgroup_dir{path, 2};
    } else if (has_cpu(controllers)) {
      return cgroup_dir{path, 1};  // v1's cpu controller wins
    }
  }
  return v2;
}

struct mount {
  std::string root;   // the mount's root within the hierarchy (field 4)
  std::string point;  // where it is mounted (field 5)
};

// Where the hierarchy of that version is mounted (parseCPUMount).
std::optional<mount> find_mount(const std::string& root, int version) {
  const auto text = read_file(root + "/proc/self/mountinfo");
  if (!text) return std::nullopt;
  for (std::string_view line : split(*text, '\n')) {
    const auto f = split(line, ' ');
    // Fields 1-6, optional fields, "-", type, source, super options.
    if (f.size() < 10) continue;
    const auto dash = std::find(f.begin() + 6, f.end(), "-");
    if (f.end() - dash < 4) continue;
    const std::string_view type = dash[1], super_options = dash[3];
    if ((version == 2 && type == "cgroup2") ||
        (version == 1 && type == "cgroup" && has_cpu(super_options))) {
      return mount{unescape(f[3]), unescape(f[4])};
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<double> cgroup_cpu_limit(const std::string& root) {
  const auto cg = relative_path(root);
  if (!cg) return std::nullopt;
  const auto m = find_mount(root, cg->version);
  if (!m) return std::nullopt;
  std::string rel = cg->path;
  if (m->root != "/" && rel.starts_with(m->root) &&
      (rel.size() == m->root.size() || rel[m->root.size()] == '/')) {
    rel.erase(0, m->root.size());
  }
  const std::string dir = root + m->point + rel + (rel.ends_with('/') ? "" : "/");

  if (cg->version == 2) {
    const auto text = read_file(dir + "cpu.max");
    if (!text) return std::nullopt;
    const std::size_t sp = text->find(' ');
    if (sp == std::string::npos || text->compare(0, sp, "max") == 0) return std::nullopt;
    const auto quota = parse_int(std::string_view(*text).substr(0, sp));
    const auto period = parse_int(std::string_view(*text).substr(sp + 1));
    if (!quota || !period || *quota <= 0 || *period <= 0) return std::nullopt;
    return static_cast<double>(*quota) / static_cast<double>(*period);
  }
  const auto quota_text = read_file(dir + "cpu.cfs_quota_us");
  const auto period_text = read_file(dir + "cpu.cfs_period_us");
  if (!quota_text || !period_text) return std::nullopt;
  const auto quota = parse_int(*quota_text);
  const auto period = parse_int(*period_text);
  if (!quota || *quota < 0) return std::nullopt;  // -1: no limit
  if (!period || *period <= 0 || *quota == 0) return std::nullopt;
  return static_cast<double>(*quota) / static_cast<double>(*period);
}

unsigned procs_for_limit(unsigned ncpu, std::optional<double> limit) noexcept {
  if (!limit) return ncpu;
  // Go: "A limit less than 2 is rounded up to 2, and any fractional component is rounded
  // up." A quota of half a CPU still gets two workers on a machine that has two.
  const double cpus = std::max(std::ceil(*limit), 2.0);
  return cpus < static_cast<double>(ncpu) ? static_cast<unsigned>(cpus) : ncpu;
}

unsigned default_worker_count() {
  unsigned ncpu = 0;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) ncpu = static_cast<unsigned>(CPU_COUNT(&set));
  if (ncpu == 0) ncpu = std::thread::hardware_concurrency();
  return std::max(1u, procs_for_limit(ncpu, cgroup_cpu_limit()));
}

}  // namespace goro::detail
