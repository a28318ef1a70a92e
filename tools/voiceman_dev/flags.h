#pragma once
// voiceman-dev's "--key value" arguments.
#include <map>
#include <string>

#include "voiceman/core/errors.h"

namespace voiceman::dev {

using Flags = std::map<std::string, std::string>;

inline Flags parse_flags(int argc, char** argv, int first) {
  Flags flags;
  for (int i = first; i < argc; ++i) {
    std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || i + 1 >= argc) throw ConfigError("bad argument " + key);
    flags[key.substr(2)] = argv[++i];
  }
  return flags;
}

inline std::string need(const Flags& flags, const std::string& key) {
  auto it = flags.find(key);
  if (it == flags.end()) throw ConfigError("missing --" + key);
  return it->second;
}

inline std::string flag_or(const Flags& flags, const std::string& key,
                           const std::string& fallback) {
  auto it = flags.find(key);
  return it == flags.end() ? fallback : it->second;
}

}  // namespace voiceman::dev
