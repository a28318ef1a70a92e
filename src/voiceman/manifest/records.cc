#include "voiceman/manifest/records.h"

#include <cmath>

#include "voiceman/core/errors.h"

namespace voiceman::manifest {
namespace {

constexpr std::string_view kStatusNames[] = {"pending", "ok", "failed", "integrity_violation",
                                             "delegated"};
constexpr std::string_view kClassNames[] = {"none", "permanent", "transient", "integrity"};

template <typename Enum, size_t N>
Enum parse_name(const std::string_view (&names)[N], std::string_view name, const char* what) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == name) return static_cast<Enum>(i);
  throw Error(std::string("unknown ") + what + " '" + std::string(name) + "'");
}

}  // namespace

std::string_view status_name(InputStatus status) { return kStatusNames[static_cast<int>(status)]; }
InputStatus parse_status(std::string_view name) {
  return parse_name<InputStatus>(kStatusNames, name, "input status");
}
std::string_view error_class_name(ErrorClass c) { return kClassNames[static_cast<int>(c)]; }
ErrorClass parse_error_class(std::string_view name) {
  return parse_name<ErrorClass>(kClassNames, name, "error class");
}

nlohmann::ordered_json to_json(const FileDigest& d) {
  return {{"size", d.size},
          {"mtime", format_mtime(d.mtime_ns)},
          {"mtime_ns", d.mtime_ns},
          {"md5", d.md5},
          {"sha256", d.sha256}};
}

FileDigest digest_from_json(const nlohmann::ordered_json& j) {
  FileDigest d;
  d.size = j.at("size").get<uint64_t>();
  d.mtime_ns = j.at("mtime_ns").get<int64_t>();
  d.md5 = j.at("md5").get<std::string>();
  d.sha256 = j.at("sha256").get<std::string>();
  return d;
}

nlohmann::ordered_json to_json(const InputRecord& r) {
  nlohmann::ordered_json outputs = nlohmann::ordered_json::array();
  for (const OutputRecord& o : r.outputs)
    outputs.push_back(
        {{"format", o.format}, {"path", o.path}, {"sha256", o.sha256}, {"size", o.size}});
  nlohmann::ordered_json j = {
      {"path", r.path},
      {"relative_path", r.relative_path},
      {"root", r.root},
      {"before", r.before ? to_json(*r.before) : nlohmann::ordered_json(nullptr)},
      {"after", r.after ? to_json(*r.after) : nlohmann::ordered_json(nullptr)},
      {"status", status_name(r.status)},
      {"attempts", r.attempts},
      {"audio_seconds", std::round(r.audio_s * 1000) / 1000},
      {"processing_seconds", std::round(r.processing_s * 1000) / 1000},
      {"outputs", std::move(outputs)}};
  if (!r.warnings.empty()) j["warnings"] = r.warnings;
  if (!r.speakers.empty()) {
    nlohmann::ordered_json speakers = nlohmann::ordered_json::array();
    for (const SpeakerRecord& s : r.speakers)
      speakers.push_back({{"speaker", s.speaker},
                          {"seconds", std::round(s.seconds * 1000) / 1000},
                          {"words", s.words},
                          {"segments", s.segments}});
    j["speakers"] = std::move(speakers);
  }
  if (r.status == InputStatus::ok) {
    nlohmann::ordered_json engines = nlohmann::ordered_json::array();
    for (const EngineRecord& e : r.transcribed_on)
      engines.push_back({{"device", e.device}, {"compute_type", e.compute_type}});
    j["transcribed_on"] = std::move(engines);
  }
  if (r.status == InputStatus::delegated) {
    j["worker"] = r.worker;
    j["worker_status"] = r.worker_status;
  } else if (r.status != InputStatus::ok && r.status != InputStatus::pending) {
    j["stage"] = r.stage;
    j["error"] = r.error;
    j["error_class"] = error_class_name(r.error_class);
  }
  return j;
}

InputRecord input_from_json(const nlohmann::ordered_json& j) {
  try {
    InputRecord r;
    r.path = j.at("path").get<std::string>();
    r.relative_path = j.at("relative_path").get<std::string>();
    r.root = j.at("root").get<std::string>();
    if (!j.at("before").is_null()) r.before = digest_from_json(j.at("before"));
    if (!j.at("after").is_null()) r.after = digest_from_json(j.at("after"));
    r.status = parse_status(j.at("status").get<std::string>());
    r.attempts = j.at("attempts").get<int>();
    r.audio_s = j.value("audio_seconds", 0.0);
    r.processing_s = j.value("processing_seconds", 0.0);
    r.stage = j.value("stage", "");
    r.error = j.value("error", "");
    r.error_class = parse_error_class(j.value("error_class", "none"));
    r.worker = j.value("worker", "");
    r.worker_status = j.value("worker_status", "");
    if (j.contains("warnings")) r.warnings = j.at("warnings").get<std::vector<std::string>>();
    for (const auto& o : j.at("outputs"))
      r.outputs.push_back({o.at("format").get<std::string>(), o.at("path").get<std::string>(),
                           o.at("sha256").get<std::string>(), o.at("size").get<uint64_t>()});
    if (j.contains("speakers"))
      for (const auto& s : j.at("speakers"))
        r.speakers.push_back({s.at("speaker").get<std::string>(), s.at("seconds").get<double>(),
                              s.at("words").get<int>(), s.at("segments").get<int>()});
    if (j.contains("transcribed_on"))  // absent in records written before it existed
      for (const auto& e : j.at("transcribed_on"))
        r.transcribed_on.push_back(
            {e.at("device").get<std::string>(), e.at("compute_type").get<std::string>()});
    return r;
  } catch (const nlohmann::ordered_json::exception& e) {
    throw Error(std::string("malformed input record: ") + e.what());
  }
}

}  // namespace voiceman::manifest
