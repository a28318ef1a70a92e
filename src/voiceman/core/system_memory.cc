#include "voiceman/core/system_memory.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "voiceman/core/errors.h"

namespace voiceman {

SystemMemory parse_meminfo(std::string_view text) {
  std::istringstream in{std::string(text)};
  SystemMemory m;
  bool have_total = false, have_available = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key, unit;
    uint64_t value = 0;
    if (!(fields >> key >> value)) continue;
    fields >> unit;
    const uint64_t bytes = unit == "kB" ? value * 1024 : value;
    if (key == "MemTotal:") {
      m.total = bytes;
      have_total = true;
    } else if (key == "MemAvailable:") {
      m.available = bytes;
      have_available = true;
    } else if (key == "MemFree:") {
      m.free = bytes;
    }
  }
  if (!have_total || m.total == 0) throw IoError("/proc/meminfo: no MemTotal");
  if (!have_available) m.available = m.free;
  return m;
}

SystemMemory within_cgroup(SystemMemory machine, const CgroupMemory& group) {
  machine.total = std::min(machine.total, group.limit);
  machine.available = std::min(machine.available, group.available);
  machine.free = std::min(machine.free, group.available);
  return machine;
}

SystemMemory system_memory() {
  std::ifstream in("/proc/meminfo");
  if (!in) throw IoError("/proc/meminfo: cannot read");
  std::ostringstream text;
  text << in.rdbuf();
  const SystemMemory machine = parse_meminfo(text.str());
  const std::optional<CgroupMemory> group = cgroup_memory();
  return group ? within_cgroup(machine, *group) : machine;
}

}  // namespace voiceman
