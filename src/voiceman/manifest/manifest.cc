#include "voiceman/manifest/manifest.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "voiceman/core/errors.h"
#include "voiceman/writers/atomic_file.h"

namespace voiceman::manifest {
namespace fs = std::filesystem;

ModelIdentity identify_model(const fs::path& dir) {
  ModelIdentity id;
  const fs::path abs = fs::absolute(dir).lexically_normal();
  id.path = abs.string();
  id.name = (abs.filename().empty() ? abs.parent_path() : abs).filename().string();
  for (const char* required : {"model.bin", "config.json"}) {
    if (!fs::is_regular_file(dir / required))
      throw ModelError(dir.string() + ": missing " + required);
    id.sha256[required] = hash_file(dir / required).sha256;
  }
  for (const char* optional :
       {"tokenizer.json", "vocabulary.txt", "vocabulary.json", "preprocessor_config.json"}) {
    if (fs::is_regular_file(dir / optional)) id.sha256[optional] = hash_file(dir / optional).sha256;
  }
  return id;
}

HostInfo current_host() {
  HostInfo h;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) h.hostname = name;
  struct utsname u {};
  if (::uname(&u) == 0) {
    h.os = std::string(u.sysname) + " " + u.release;
    h.machine = u.machine;
  }
  h.cpus = static_cast<int>(std::thread::hardware_concurrency());
  return h;
}

std::string worker_name(const HostInfo& host, const std::string& out_dir) {
  return host.hostname + ":" + out_dir;
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::ordered_json to_json(const Manifest& m) {
  nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
  int ok = 0, failed = 0, violations = 0, pending = 0, delegated = 0;
  for (const InputRecord& r : m.inputs) {
    inputs.push_back(to_json(r));
    ok += r.status == InputStatus::ok;
    failed += r.status == InputStatus::failed;
    violations += r.status == InputStatus::integrity_violation;
    pending += r.status == InputStatus::pending;
    delegated += r.status == InputStatus::delegated;
  }
  nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
  for (const SkippedPath& s : m.skipped)
    skipped.push_back({{"path", s.path}, {"reason", s.reason}});
  nlohmann::ordered_json j = {
      {"schema", kSchemaName},
      {"schema_version", kSchemaVersion},
      {"tool", {{"name", "voiceman"}, {"version", m.tool_version}, {"commit", m.tool_commit}}},
      {"model", {{"name", m.model.name}, {"path", m.model.path}, {"sha256", m.model.sha256}}},
      {"options", m.options},
      {"host",
       {{"hostname", m.host.hostname},
        {"os", m.host.os},
        {"machine", m.host.machine},
        {"cpus", m.host.cpus}}},
      {"out_dir", m.out_dir},
      {"started_utc", m.started_utc},
      {"finished_utc", m.finished_utc.empty() ? nlohmann::ordered_json(nullptr)
                                              : nlohmann::ordered_json(m.finished_utc)},
      {"status", m.status}};
  if (!m.error.empty()) j["error"] = m.error;
  nlohmann::ordered_json& summary = j["summary"];
  summary["inputs"] = m.inputs.size();
  summary["ok"] = ok;
  summary["failed"] = failed;
  summary["integrity_violations"] = violations;
  summary["pending"] = pending;
  summary["delegated"] = delegated;
  summary["skipped"] = m.skipped.size();
  j["inputs"] = std::move(inputs);
  j["skipped"] = std::move(skipped);
  return j;
}

Manifest manifest_from_json(const nlohmann::ordered_json& j) {
  try {
    if (j.at("schema").get<std::string>() != kSchemaName)
      throw IntegrityError("not a voiceman manifest (schema " + j.at("schema").dump() + ")");
    const int version = j.at("schema_version").get<int>();
    if (version != kSchemaVersion)
      throw IntegrityError("manifest schema version " + std::to_string(version) +
                           " is not supported (this voiceman reads " +
                           std::to_string(kSchemaVersion) + ")");
    Manifest m;
    m.tool_version = j.at("tool").at("version").get<std::string>();
    m.tool_commit = j.at("tool").at("commit").get<std::string>();
    m.model.name = j.at("model").at("name").get<std::string>();
    m.model.path = j.at("model").at("path").get<std::string>();
    m.model.sha256 = j.at("model").at("sha256").get<std::map<std::string, std::string>>();
    m.options = j.at("options");
    const auto& host = j.at("host");
    m.host = {host.at("hostname").get<std::string>(), host.at("os").get<std::string>(),
              host.at("machine").get<std::string>(), host.at("cpus").get<int>()};
    m.out_dir = j.at("out_dir").get<std::string>();
    m.started_utc = j.at("started_utc").get<std::string>();
    if (!j.at("finished_utc").is_null()) m.finished_utc = j.at("finished_utc").get<std::string>();
    m.status = j.at("status").get<std::string>();
    if (j.contains("error")) m.error = j.at("error").get<std::string>();
    for (const auto& r : j.at("inputs")) m.inputs.push_back(input_from_json(r));
    for (const auto& s : j.at("skipped"))
      m.skipped.push_back({s.at("path").get<std::string>(), s.at("reason").get<std::string>()});
    return m;
  } catch (const nlohmann::ordered_json::exception& e) {
    throw IntegrityError(std::string("malformed manifest: ") + e.what());
  } catch (const IntegrityError&) {
    throw;
  } catch (const Error& e) {
    throw IntegrityError(std::string("malformed manifest: ") + e.what());
  }
}

void write_manifest(const fs::path& out_dir, const Manifest& manifest) {
  writers::write_file_atomic(
      out_dir / kManifestFile,
      to_json(manifest).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
          "\n");
}

Manifest read_manifest(const fs::path& out_dir) {
  const fs::path path = out_dir / kManifestFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IntegrityError(path.string() + ": missing or unreadable");
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(in, nullptr, false);
  if (j.is_discarded()) throw IntegrityError(path.string() + ": not valid JSON");
  return manifest_from_json(j);
}

nlohmann::ordered_json failed_files_json(const std::vector<InputRecord>& inputs) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const InputRecord& r : inputs) {
    if (r.status != InputStatus::failed && r.status != InputStatus::integrity_violation) continue;
    nlohmann::ordered_json entry = {{"path", r.path},
                                    {"relative_path", r.relative_path},
                                    {"stage", r.stage},
                                    {"error", r.error},
                                    {"error_class", error_class_name(r.error_class)},
                                    {"attempts", r.attempts}};
    if (r.before) entry["sha256"] = r.before->sha256;
    list.push_back(std::move(entry));
  }
  return list;
}

void write_failed_files(const fs::path& out_dir, const std::vector<InputRecord>& inputs) {
  writers::write_file_atomic(out_dir / kFailedFile,
                             failed_files_json(inputs).dump(
                                 2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) +
                                 "\n");
}

}  // namespace voiceman::manifest
