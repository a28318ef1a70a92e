#include "voiceman/core/cgroup_memory.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace voiceman {
namespace {

namespace fs = std::filesystem;

// v1 writes a page-aligned 2^63 - 1 for "no limit"; nothing real comes near 2^62.
constexpr uint64_t kNoLimit = uint64_t{1} << 62;

struct Layout {
  fs::path base;  // the hierarchy's mount
  std::string limit, usage, reclaimable;
};

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<uint64_t> read_number(const fs::path& path) {
  const std::optional<std::string> text = read_text(path);
  if (!text) return std::nullopt;
  uint64_t value = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || std::any_of(ptr, end, [](char c) { return !std::isspace(c); }))
    return std::nullopt;  // "max", or not a number
  return value;
}

uint64_t stat_value(const fs::path& path, const std::string& key) {
  std::istringstream in(read_text(path).value_or(""));
  std::string name;
  uint64_t value = 0;
  while (in >> name >> value)
    if (name == key) return value;
  return 0;
}

// Splits "id:controllers:path" lines; v1's memory hierarchy wins where both are mounted
// (a hybrid system keeps the memory controller in v1).
std::optional<std::pair<Layout, std::string>> find_group(const fs::path& root,
                                                         std::string_view self) {
  std::optional<std::pair<Layout, std::string>> v2;
  std::istringstream in{std::string(self)};
  for (std::string line; std::getline(in, line);) {
    const size_t a = line.find(':'), b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    std::istringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');)
      if (name == "memory")
        return std::pair{Layout{root / "memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
                                "total_inactive_file"},
                         path};
    if (line.starts_with("0::"))
      v2 = std::pair{Layout{root, "memory.max", "memory.current", "inactive_file"}, path};
  }
  return v2;
}

}  // namespace

std::optional<CgroupMemory> cgroup_memory(const fs::path& root, std::string_view self) {
  const auto group = find_group(root, self);
  if (!group) return std::nullopt;
  const Layout& layout = group->first;
  // The groups from the mount's root down to the process's own.
  std::vector<fs::path> dirs{layout.base};
  for (const fs::path& part : fs::path(group->second).relative_path()) {
    if (part == "..") return std::nullopt;  // a group outside this namespace's view
    if (part.empty()) continue;
    dirs.push_back(dirs.back() / part);
  }
  std::optional<CgroupMemory> tightest;
  for (const fs::path& dir : dirs) {
    const std::optional<uint64_t> limit = read_number(dir / layout.limit);
    if (!limit || *limit >= kNoLimit) continue;
    const uint64_t usage = read_number(dir / layout.usage).value_or(0);
    const uint64_t reclaimable =
        std::min(usage, stat_value(dir / "memory.stat", layout.reclaimable));
    const uint64_t held = usage - reclaimable;
    const uint64_t available = *limit - std::min(*limit, held);
    if (!tightest) tightest = CgroupMemory{*limit, available};
    tightest->limit = std::min(tightest->limit, *limit);
    tightest->available = std::min(tightest->available, available);
  }
  return tightest;
}

std::optional<CgroupMemory> cgroup_memory() {
  const std::optional<std::string> self = read_text("/proc/self/cgroup");
  if (!self) return std::nullopt;
  return cgroup_memory("/sys/fs/cgroup", *self);
}

}  // namespace voiceman
