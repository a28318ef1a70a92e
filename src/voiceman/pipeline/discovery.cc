#include "voiceman/pipeline/discovery.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "voiceman/core/errors.h"

namespace voiceman::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMediaExtensions[] = {"m4a", "aac",  "mp3", "wav", "wave", "flac", "ogg",
                                                 "oga", "opus", "mp4", "m4v", "mov",  "webm", "mka",
                                                 "mkv", "wma",  "amr", "3gp", "aif",  "aiff"};

bool is_within(const fs::path& p, const fs::path& dir) {
  auto pi = p.begin();
  for (auto di = dir.begin(); di != dir.end(); ++di, ++pi) {
    if (di->empty()) continue;  // trailing separator
    if (pi == p.end() || *pi != *di) return false;
  }
  return true;
}

std::string file_type_name(const struct stat& st) {
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return "a device";
  return "not a regular file";
}

class Walker {
 public:
  Walker(bool follow_symlinks, Discovery& out) : follow_(follow_symlinks), out_(out) {}

  void add_root_dir(const fs::path& abs, const fs::path& canonical) {
    root_ = abs.string();
    std::vector<fs::path> stack{canonical};
    walk(abs, "", stack);
  }

  void add_file(const fs::path& abs) {
    root_ = abs.parent_path().string();
    const std::string rel = abs.filename().string();
    struct stat st {};
    if (::stat(abs.c_str(), &st) != 0) {
      fail(abs, rel, errno == ELOOP ? "symlink loop" : "unreadable (dangling symlink)");
      return;
    }
    add_input(abs, rel, st);
  }

 private:
  void walk(const fs::path& dir, const std::string& rel_dir, std::vector<fs::path>& stack) {
    std::error_code ec;
    std::vector<std::string> names;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec))
      names.push_back(it->path().filename().string());
    if (ec) {
      fail(dir, rel_dir, "unreadable folder (" + ec.message() + ")");
      return;
    }
    std::sort(names.begin(), names.end());  // byte order: independent of locale and fs
    for (const std::string& name : names) {
      const fs::path path = dir / name;
      const std::string rel = rel_dir.empty() ? name : rel_dir + "/" + name;
      if (name.front() == '.') {
        out_.skipped.push_back({path.string(), "hidden"});
        continue;
      }
      visit(path, rel, stack);
    }
  }

  void visit(const fs::path& path, const std::string& rel, std::vector<fs::path>& stack) {
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) != 0) {
      fail(path, rel, std::string("unreadable (") + std::strerror(errno) + ")");
      return;
    }
    struct stat st = lst;
    if (S_ISLNK(lst.st_mode)) {
      if (::stat(path.c_str(), &st) != 0) {
        const int err = errno;
        if (err == ELOOP)
          fail(path, rel, "symlink loop");
        else if (is_media_file_name(rel))
          fail(path, rel, "unreadable (dangling symlink)");
        else
          out_.skipped.push_back({path.string(), "not a media file"});
        return;
      }
      std::error_code ec;
      const fs::path target = fs::canonical(path, ec);
      if (ec) {
        fail(path, rel, "unreadable (" + ec.message() + ")");
        return;
      }
      if (S_ISDIR(st.st_mode)) {
        for (const fs::path& ancestor : stack) {
          if (target == ancestor) {
            fail(path, rel, "symlink loop (points back to " + target.string() + ")");
            return;
          }
        }
      }
      if (!follow_ && !inside_roots(target)) {
        out_.skipped.push_back({path.string(), "symlink outside the input roots (not followed)"});
        return;
      }
    }
    if (S_ISDIR(st.st_mode)) {
      std::error_code ec;
      stack.push_back(fs::canonical(path, ec));
      walk(path, rel, stack);
      stack.pop_back();
      return;
    }
    if (!is_media_file_name(rel)) {
      out_.skipped.push_back({path.string(), "not a media file"});
      return;
    }
    add_input(path, rel, st);
  }

  void add_input(const fs::path& path, const std::string& rel, const struct stat& st) {
    if (!S_ISREG(st.st_mode)) {
      fail(path, rel, "unreadable (" + file_type_name(st) + ")");
      return;
    }
    std::error_code ec;
    fs::path canonical = fs::canonical(path, ec);
    if (ec) {
      fail(path, rel, "unreadable (" + ec.message() + ")");
      return;
    }
    // One original, one transcript: the same file reached twice is processed once.
    auto [it, fresh] = seen_.emplace(canonical, path.string());
    if (!fresh) {
      out_.skipped.push_back({path.string(), "same file as " + it->second});
      return;
    }
    out_.originals.insert(canonical);
    out_.inputs.push_back(
        {path.string(), std::move(canonical), root_, rel, static_cast<uint64_t>(st.st_size)});
    out_.total_bytes += static_cast<uint64_t>(st.st_size);
  }

  bool inside_roots(const fs::path& canonical) const {
    return std::any_of(out_.root_dirs.begin(), out_.root_dirs.end(),
                       [&](const fs::path& r) { return is_within(canonical, r); });
  }

  void fail(const fs::path& path, const std::string& rel, const std::string& why) {
    out_.failures.push_back({path.string(), root_, rel, path.string() + ": " + why});
  }

  bool follow_;
  Discovery& out_;
  std::string root_;
  std::map<fs::path, std::string> seen_;
};

}  // namespace

bool is_media_file_name(std::string_view name) {
  const size_t slash = name.find_last_of('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const size_t dot = base.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  std::string ext(base.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return std::find(std::begin(kMediaExtensions), std::end(kMediaExtensions), ext) !=
         std::end(kMediaExtensions);
}

Discovery discover(const std::vector<std::string>& inputs, bool follow_symlinks) {
  Discovery out;
  std::vector<std::pair<fs::path, fs::path>> dirs;  // absolute, canonical
  std::vector<fs::path> files;
  for (const std::string& input : inputs) {
    const fs::path abs = fs::absolute(input).lexically_normal();
    std::error_code ec;
    const fs::file_status link = fs::symlink_status(abs, ec);
    if (ec || !fs::exists(link)) throw ConfigError("input not found: " + input);
    if (fs::is_directory(fs::status(abs, ec))) {
      const fs::path canonical = fs::canonical(abs, ec);
      if (ec) throw ConfigError("input folder unreadable: " + input + " (" + ec.message() + ")");
      dirs.emplace_back(abs.filename().empty() ? abs.parent_path() : abs, canonical);
      out.root_dirs.push_back(canonical);
    } else {
      files.push_back(abs);
    }
  }
  Walker walker(follow_symlinks, out);
  for (const auto& [abs, canonical] : dirs) walker.add_root_dir(abs, canonical);
  for (const fs::path& file : files) walker.add_file(file);

  // Two inputs must never write the same output file.
  std::map<std::string, std::string> owners;
  auto claim = [&](const std::string& rel, const std::string& path) {
    auto [it, fresh] = owners.emplace(rel, path);
    if (!fresh)
      throw ConfigError("inputs " + it->second + " and " + path + " would both be written to " +
                        "transcripts/" + rel + ".*; give them in separate runs or pass their " +
                        "common parent folder");
  };
  for (const DiscoveredInput& in : out.inputs) claim(in.relative_path, in.path);
  for (const DiscoveryFailure& f : out.failures) claim(f.relative_path, f.path);
  return out;
}

void check_out_dir(const fs::path& out_dir, const Discovery& d) {
  std::error_code ec;
  if (fs::exists(out_dir, ec) && !fs::is_directory(out_dir, ec))
    throw ConfigError("OUT " + out_dir.string() + " exists and is not a folder");
  const fs::path out = fs::weakly_canonical(fs::absolute(out_dir));
  for (const fs::path& root : d.root_dirs) {
    if (is_within(out, root))
      throw ConfigError("refusing to write OUT " + out_dir.string() + " inside the input folder " +
                        root.string() + "; choose an output folder outside the originals");
    if (is_within(root, out))
      throw ConfigError("refusing input folder " + root.string() + " inside OUT " +
                        out_dir.string());
  }
  for (const DiscoveredInput& in : d.inputs)
    if (is_within(in.canonical, out))
      throw ConfigError("refusing input " + in.path + " inside OUT " + out_dir.string());
}

void check_output_path(const fs::path& output, const Discovery& d) {
  const fs::path resolved = fs::weakly_canonical(fs::absolute(output));
  for (const fs::path& root : d.root_dirs)
    if (is_within(resolved, root))
      throw IntegrityError("refusing to write " + output.string() + ": it resolves to " +
                           resolved.string() + " inside the input folder " + root.string());
  if (d.originals.count(resolved))
    throw IntegrityError("refusing to write " + output.string() + ": it resolves to the original " +
                         resolved.string());
}

}  // namespace voiceman::pipeline
