// The default worker count, container-aware as Go 1.25's default GOMAXPROCS is
// (runtime/cgroup_linux.go, internal/runtime/cgroup): the CPUs the process may run on,
// lowered to its cgroup's CPU quota.
#pragma once

#include <optional>
#include <string>

namespace goro::detail {

// The CPU limit (quota / period, in CPUs: 1.5 is one and a half CPUs) of the cgroup that
// holds this process, or nullopt if it has none or it cannot be read. Every file is read
// under `root` ("" in the runtime: the real /proc/self/cgroup, /proc/self/mountinfo and the
// cgroup mount they name; a test points it at a fake tree).
std::optional<double> cgroup_cpu_limit(const std::string& root = "");

// Go's adjustCgroupGOMAXPROCS: min(ncpu, max(2, ceil(limit))); ncpu with no limit.
unsigned procs_for_limit(unsigned ncpu, std::optional<double> limit) noexcept;

// The CPUs in this thread's affinity mask (what Go's getCPUCount and `nproc` count),
// lowered to the cgroup's limit: options::threads when neither it nor GOMAXPROCS is set.
unsigned default_worker_count();

}  // namespace goro::detail
