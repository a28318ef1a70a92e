// The shared job of `voiceman run --redis URL --job NAME`: recordings other workers hold
// are watched until they finish them (delegated here) or stop renewing their claims
// (taken over here, like a retry that is due at once).
#include <thread>

#include "voiceman/core/log.h"
#include "voiceman/pipeline/run_impl.h"

namespace voiceman::pipeline::detail {
namespace {

// How often the held recordings are looked up once nothing else is left to do.
constexpr double kJobPollS = 1.0;

}  // namespace

void Run::defer(size_t index, const distribute::JobEntry& entry) {
  if (entry.state == distribute::JobEntry::State::done) {
    delegate(index, entry);
    return;
  }
  log::debug(records_[index].relative_path, ": held by ", entry.worker);
  watched_.push_back(index);
}

void Run::delegate(size_t index, const distribute::JobEntry& entry) {
  manifest::InputRecord& rec = records_[index];
  rec.status = manifest::InputStatus::delegated;
  rec.worker = entry.worker;
  rec.worker_status = entry.status;
  complete(index, false);
}

void Run::poll_job() {
  for (auto it = watched_.begin(); it != watched_.end();) {
    const size_t index = *it;
    const std::string& rel = records_[index].relative_path;
    distribute::JobEntry entry;
    try {
      entry = setup_.job->peek(rel);
    } catch (const std::exception& e) {
      log::warn("job ", setup_.job->name(), ": cannot look up ", rel, " (", e.what(),
                "); trying again");
      return;
    }
    if (entry.state == distribute::JobEntry::State::done) {
      it = watched_.erase(it);
      delegate(index, entry);
    } else if (entry.state == distribute::JobEntry::State::free) {
      // Its worker died or was stopped without finishing it.
      it = watched_.erase(it);
      log::info(rel, ": the worker that held it stopped renewing its claim; taking it over");
      retries_.push_back({index, Clock::now(), true});
    } else {
      ++it;
    }
  }
}

bool Run::wait_for_more() {
  if (retries_.empty() && watched_.empty()) return false;
  if (!watched_.empty()) {
    poll_job();
    // What poll_job() took over is due now; otherwise look again in a while.
    wait_for_retry(kJobPollS);
    return true;
  }
  wait_for_retry(1e9);
  return true;
}

void Run::report_to_job(size_t index) {
  if (!setup_.job || index >= setup_.discovery.inputs.size()) return;
  const manifest::InputRecord& rec = records_[index];
  try {
    const distribute::JobEntry entry =
        setup_.job->finish(rec.relative_path, std::string(manifest::status_name(rec.status)),
                           rec.before ? rec.before->sha256 : "");
    if (entry.worker != setup_.job->worker())
      log::warn(rec.relative_path, ": ", entry.worker,
                " finished it first (this worker's claim had lapsed); both have outputs");
  } catch (const std::exception& e) {
    log::warn("job ", setup_.job->name(), ": could not record ", rec.relative_path, " as done (",
              e.what(), "); other workers may transcribe it again");
  }
}

}  // namespace voiceman::pipeline::detail
