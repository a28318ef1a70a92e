#include "voiceman/pipeline/fault_injection.h"

#include <fnmatch.h>

#include <vector>

#include "voiceman/core/errors.h"

namespace voiceman::pipeline {

FaultSpec parse_fault_spec(std::string_view text) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    const size_t colon = text.find(':', pos);
    parts.emplace_back(text.substr(pos, colon == std::string_view::npos ? colon : colon - pos));
    if (colon == std::string_view::npos) break;
    pos = colon + 1;
  }
  const std::string bad = "fault spec '" + std::string(text) + "': ";
  if (parts.size() < 3 || parts.size() > 4) throw ConfigError(bad + "expected KIND:GLOB:N[:STAGE]");
  FaultSpec spec;
  if (parts[0] == "transient")
    spec.transient = true;
  else if (parts[0] == "permanent")
    spec.transient = false;
  else
    throw ConfigError(bad + "KIND must be transient or permanent");
  if (parts[1].empty()) throw ConfigError(bad + "empty GLOB");
  spec.glob = parts[1];
  try {
    size_t used = 0;
    spec.count = std::stoi(parts[2], &used);
    if (used != parts[2].size() || spec.count < 1) throw std::invalid_argument("N");
  } catch (const std::exception&) {
    throw ConfigError(bad + "N must be a positive integer");
  }
  if (parts.size() == 4) {
    spec.stage = parts[3];
    if (spec.stage != "hash" && spec.stage != "decode" && spec.stage != "transcribe" &&
        spec.stage != "write")
      throw ConfigError(bad + "STAGE must be hash, decode, transcribe or write");
  }
  return spec;
}

void FaultInjector::maybe_fail(std::string_view stage, const std::string& relative_path) {
  if (!spec_ || stage != spec_->stage) return;
  const std::string name = relative_path.substr(relative_path.find_last_of('/') + 1);
  if (::fnmatch(spec_->glob.c_str(), relative_path.c_str(), 0) != 0 &&
      ::fnmatch(spec_->glob.c_str(), name.c_str(), 0) != 0)
    return;
  {
    std::lock_guard lock(mutex_);
    int& raised = raised_[relative_path];
    if (raised >= spec_->count) return;
    ++raised;
  }
  const std::string what = relative_path + ": injected " +
                           (spec_->transient ? "transient" : "permanent") + " fault at " +
                           std::string(stage) + " (VOICEMAN_INJECT_FAULT)";
  if (spec_->transient) throw DeviceError(what);
  throw MediaError(what);
}

}  // namespace voiceman::pipeline
