#include "voiceman/manifest/verify.h"

#include <algorithm>
#include <map>
#include <set>

#include "voiceman/core/errors.h"
#include "voiceman/manifest/manifest.h"
#include "voiceman/writers/atomic_file.h"

namespace voiceman::manifest {
namespace {

namespace fs = std::filesystem;

void compare(const std::string& path, const FileDigest& want, const FileDigest& got,
             std::vector<Difference>& out) {
  auto diff = [&](const std::string& what, const std::string& was, const std::string& now) {
    if (was != now) out.push_back({"changed", path, what + " was " + was + ", now " + now});
  };
  diff("sha256", want.sha256, got.sha256);
  diff("md5", want.md5, got.md5);
  diff("size", std::to_string(want.size), std::to_string(got.size));
  diff("mtime", format_mtime(want.mtime_ns), format_mtime(got.mtime_ns));
}

void check_original(const InputRecord& r, VerifyReport& report) {
  // The last digest taken while we held the file is the one it must still have.
  const std::optional<FileDigest>& want = r.after ? r.after : r.before;
  if (!want) return;  // never hashed (e.g. a symlink loop): nothing to compare
  ++report.originals_checked;
  std::error_code ec;
  if (!fs::exists(r.path, ec)) {
    report.differences.push_back({"missing", r.path, "original no longer exists"});
    return;
  }
  try {
    compare(r.path, *want, hash_file(r.path), report.differences);
  } catch (const Error& e) {
    report.differences.push_back({"missing", r.path, e.what()});
  }
}

void check_output(const fs::path& out_dir, const OutputRecord& o, VerifyReport& report) {
  ++report.outputs_checked;
  const fs::path path = out_dir / o.path;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    report.differences.push_back({"missing", path.string(), "output no longer exists"});
    return;
  }
  try {
    const FileDigest got = hash_file(path);
    if (got.sha256 != o.sha256)
      report.differences.push_back(
          {"changed", path.string(), "sha256 was " + o.sha256 + ", now " + got.sha256});
  } catch (const Error& e) {
    report.differences.push_back({"missing", path.string(), e.what()});
  }
}

// One OUT against its manifest, already read.
VerifyReport verify_out(const fs::path& out_dir, const Manifest& m) {
  VerifyReport report;
  if (m.status != "complete")
    report.differences.push_back({"incomplete", (out_dir / kManifestFile).string(),
                                  "the run did not finish (status " + m.status +
                                      (m.error.empty() ? "" : ": " + m.error) +
                                      "); re-run the same command to complete it"});
  std::set<fs::path> listed;
  for (const InputRecord& r : m.inputs) {
    check_original(r, report);
    if (r.status == InputStatus::pending)
      report.differences.push_back({"incomplete", r.path, "input was never processed"});
    // The custody chain broke during the run: that the file now matches its last digest
    // does not mend it.
    if (r.status == InputStatus::integrity_violation)
      report.differences.push_back(
          {"violated", r.path,
           "the original changed while it was processed (sha256 " +
               (r.before ? r.before->sha256 : std::string("unknown")) + " before, " +
               (r.after ? r.after->sha256 : std::string("unknown")) + " after)"});
    for (const OutputRecord& o : r.outputs) {
      check_output(out_dir, o, report);
      listed.insert((out_dir / o.path).lexically_normal());
    }
  }
  // Files nobody recorded are as suspect as changed ones.
  const fs::path transcripts = out_dir / kTranscriptsDir;
  std::error_code ec;
  if (fs::is_directory(transcripts, ec)) {
    for (auto it = fs::recursive_directory_iterator(transcripts, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      if (it->is_directory(ec)) continue;
      const fs::path p = it->path().lexically_normal();
      if (!listed.count(p))
        report.differences.push_back({"unexpected", p.string(), "file is not in the manifest"});
    }
  }
  return report;
}

}  // namespace

VerifyReport verify(const fs::path& out_dir) { return verify_out(out_dir, read_manifest(out_dir)); }

VerifyReport verify(const std::vector<fs::path>& out_dirs) {
  VerifyReport report;
  std::map<std::string, Manifest> workers;  // HOST:OUT, as a job names its workers
  std::set<std::string> jobs;
  for (const fs::path& out : out_dirs) {
    Manifest m = read_manifest(out);
    const VerifyReport one = verify_out(out, m);
    report.originals_checked += one.originals_checked;
    report.outputs_checked += one.outputs_checked;
    report.differences.insert(report.differences.end(), one.differences.begin(),
                              one.differences.end());
    const auto job = m.options.find("job");
    jobs.insert(job == m.options.end() || job->is_null() ? "" : job->value("name", ""));
    workers.emplace(worker_name(m.host, m.out_dir), std::move(m));
  }
  if (out_dirs.size() > 1 && (jobs.size() > 1 || jobs.count("")))
    report.differences.push_back(
        {"mismatch", out_dirs.front().string(),
         "the OUTs are not the workers of one job (--job), so they cannot be checked together"});
  for (const auto& [worker, m] : workers) {
    for (const InputRecord& r : m.inputs) {
      if (r.status != InputStatus::delegated) continue;
      const auto other = workers.find(r.worker);
      if (other == workers.end()) {
        ++report.delegated_unchecked;
        continue;
      }
      ++report.delegated_checked;
      const auto& inputs = other->second.inputs;
      const auto there = std::find_if(inputs.begin(), inputs.end(), [&](const InputRecord& o) {
        return o.relative_path == r.relative_path;
      });
      const std::string status =
          there == inputs.end() ? "nothing" : std::string(status_name(there->status));
      if (status == r.worker_status) continue;
      std::string detail = worker;
      detail += " lists it as done by " + r.worker;
      detail += " (" + r.worker_status + "), whose manifest says " + status;
      report.differences.push_back({"mismatch", r.path, std::move(detail)});
    }
  }
  return report;
}

}  // namespace voiceman::manifest
