// The default worker count's cgroup CPU limit (runtime/src/cpu_quota.cpp), read from fake
// /proc and cgroup trees in a temporary directory: cgroup v2 and v1, no limit, fractional
// quotas, nested cgroups, and Go 1.25's rounding.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cpu_quota.hpp"

namespace fs = std::filesystem;
using goro::detail::cgroup_cpu_limit;
using goro::detail::procs_for_limit;

namespace {

// A fake root: write(path, text) creates root/path.
struct fake_root {
  fs::path dir;
  fake_root() {
    char tmpl[] = "/tmp/goro-cpu-quota-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~fake_root() { fs::remove_all(dir); }
  void write(const std::string& path, const std::string& text) const {
    const fs::path p = dir / path;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string root() const { return dir.string(); }
};

// A cgroup v2 system: the process in `path`, the hierarchy at /sys/fs/cgroup.
void v2_system(const fake_root& r, const std::string& path) {
  r.write("proc/self/cgroup", "0::" + path + "\n");
  r.write("proc/self/mountinfo",
          "22 1 0:21 / / rw,relatime - ext4 /dev/sda1 rw\n"
          "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 "
          "cgroup2 rw,nsdelegate,memory_recursiveprot\n");
}

// A cgroup v1 system (with a v2 hierarchy for systemd, as hybrid systems have).
void v1_system(const fake_root& r, const std::string& path, const std::string& mount_root = "/") {
  r.write("proc/self/cgroup", "12:memory:" + path + "\n4:cpu,cpuacct:" + path +
                                  "\n1:name=systemd:/init.scope\n0::/init.scope\n");
  r.write("proc/self/mountinfo",
          "22 1 0:21 / / rw,relatime - ext4 /dev/sda1 rw\n"
          "30 22 0:26 / /sys/fs/cgroup/unified rw,relatime shared:4 - cgroup2 cgroup2 rw\n"
          "31 22 0:27 " +
              mount_root +
              " /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
              "32 22 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n");
}

}  // namespace

TEST_CASE("cgroup v2: cpu.max of the process's cgroup") {
  fake_root r;
  v2_system(r, "/kubepods/pod1");
  SUBCASE("two CPUs") {
    r.write("sys/fs/cgroup/kubepods/pod1/cpu.max", "200000 100000\n");
    CHECK(cgroup_cpu_limit(r.root()) == 2.0);
  }
  SUBCASE("no limit") {
    r.write("sys/fs/cgroup/kubepods/pod1/cpu.max", "max 100000\n");
    CHECK_FALSE(cgroup_cpu_limit(r.root()).has_value());
  }
  SUBCASE("a fraction") {
    r.write("sys/fs/cgroup/kubepods/pod1/cpu.max", "150000 100000\n");
    CHECK(cgroup_cpu_limit(r.root()) == 1.5);
  }
  SUBCASE("no cpu controller: no file") {
    CHECK_FALSE(cgroup_cpu_limit(r.root()).has_value());
  }
  SUBCASE("malformed") {
    r.write("sys/fs/cgroup/kubepods/pod1/cpu.max", "lots\n");
    CHECK_FALSE(cgroup_cpu_limit(r.root()).has_value());
  }
}

TEST_CASE("cgroup v2 in a cgroup namespace: the root cgroup") {
  fake_root r;
  v2_system(r, "/");
  r.write("sys/fs/cgroup/cpu.max", "50000 100000\n");
  CHECK(cgroup_cpu_limit(r.root()) == 0.5);
}

TEST_CASE("nested cgroups: only the process's own is read, as Go 1.25 does") {
  fake_root r;
  v2_system(r, "/parent/leaf");
  r.write("sys/fs/cgroup/parent/cpu.max", "100000 100000\n");
  SUBCASE("the leaf has no limit") {
    r.write("sys/fs/cgroup/parent/leaf/cpu.max", "max 100000\n");
    CHECK_FALSE(cgroup_cpu_limit(r.root()).has_value());
  }
  SUBCASE("the leaf's own") {
    r.write("sys/fs/cgroup/parent/leaf/cpu.max", "300000 100000\n");
    CHECK(cgroup_cpu_limit(r.root()) == 3.0);
  }
}

TEST_CASE("cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us, ahead of the v2 hierarchy") {
  fake_root r;
  v1_system(r, "/docker/abc");
  r.write("sys/fs/cgroup/unified/init.scope/cpu.max", "100000 100000\n");  // not the CPU one
  SUBCASE("four CPUs") {
    r.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "400000\n");
    r.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    CHECK(cgroup_cpu_limit(r.root()) == 4.0);
  }
  SUBCASE("no limit") {
    r.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n");
    r.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
    CHECK_FALSE(cgroup_cpu_limit(r.root()).has_value());
  }
  SUBCASE("a fraction, another period") {
    r.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "125000\n");
    r.write("sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us", "50000\n");
    CHECK(cgroup_cpu_limit(r.root()) == 2.5);
  }
}

TEST_CASE("cgroup v1 without a cgroup namespace: the mount's root is the cgroup") {
  fake_root r;
  v1_system(r, "/docker/abc", "/docker/abc");
  r.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "200000\n");
  r.write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  CHECK(cgroup_cpu_limit(r.root()) == 2.0);
}

TEST_CASE("an escaped mount point") {
  fake_root r;
  r.write("proc/self/cgroup", "0::/a\n");
  r.write("proc/self/mountinfo", "30 22 0:26 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n");
  r.write("sys/fs/my cgroup/a/cpu.max", "700000 100000\n");
  CHECK(cgroup_cpu_limit(r.root()) == 7.0);
}

TEST_CASE("no cgroup at all") {
  fake_root r;
  CHECK_FALSE(cgroup_cpu_limit(r.root()).has_value());
  r.write("proc/self/cgroup", "0::/\n");
  r.write("proc/self/mountinfo", "22 1 0:21 / / rw,relatime - ext4 /dev/sda1 rw\n");
  CHECK_FALSE(cgroup_cpu_limit(r.root()).has_value());
}

TEST_CASE("Go 1.25's rule: min(ncpu, max(2, ceil(limit)))") {
  CHECK(procs_for_limit(8, std::nullopt) == 8);
  CHECK(procs_for_limit(8, 2.0) == 2);
  CHECK(procs_for_limit(8, 2.5) == 3);  // a fraction rounds up
  CHECK(procs_for_limit(8, 1.5) == 2);
  CHECK(procs_for_limit(8, 0.5) == 2);  // at least two...
  CHECK(procs_for_limit(1, 0.5) == 1);  // ...unless there are fewer CPUs
  CHECK(procs_for_limit(4, 16.0) == 4);
}

TEST_CASE("the real system: a sane default") {
  const unsigned n = goro::detail::default_worker_count();
  CHECK(n >= 1);
  CHECK(n <= 4096);
}
