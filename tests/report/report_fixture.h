#pragma once
// A made-up but plausible run for the report tests: batches whose size is halved after an
// out-of-memory and grows back, a resource series, and files with every status, one of
// them with a hostile name. Also count(), for counting elements in rendered markup.
#include <cmath>
#include <cstddef>
#include <string>

#include "voiceman/report/performance_report.h"

namespace voiceman::report::testing {

// Non-overlapping occurrences of `needle` in `haystack`.
inline size_t count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

inline const std::string kHostileName = "calls/<script>alert(\"x\")</script> & 'q' 통화.m4a";

inline RunSummaryInput sample_run(bool with_gpu, int n_files = 24, int n_batches = 12) {
  RunSummaryInput in;
  in.started_utc = "2025-01-02T03:04:05Z";
  in.finished_utc = "2025-01-02T03:05:17Z";
  in.model = "models/tiny.en";
  in.compute_type = with_gpu ? "float32" : "int8";
  in.device = with_gpu ? "cuda:0" : "cpu";
  in.wall_s = 72.4;
  int size = with_gpu ? 20 : 8;
  in.batch_size_history.emplace_back(0.0, size);
  double t = 2.0;
  int done = 0;
  for (int i = 0; i < n_batches; ++i) {
    if (i == 4) {
      size /= 2;
      in.batch_size_history.emplace_back(t, size);
      in.events.push_back("Reducing batch size to " + std::to_string(size));
    }
    if (i == 9) {
      size += 4;
      in.batch_size_history.emplace_back(t, size);
    }
    metrics::BatchMetrics b;
    b.batch_id = i;
    b.batch_size = size;
    b.files = 1 + i % 4;
    b.audio_s = 30.0 * size * (0.7 + 0.02 * (i % 5));
    b.wall_s = 3.0 + 0.37 * (i % 3) + 0.1 * size;
    b.device = in.device;
    if (with_gpu) b.gpu = metrics::GpuReading{2000.0 + 150.0 * size, 16384, 70.0 + i % 7, {}};
    b.rss_mb = 500 + 10.0 * i;
    b.ram_percent = 30 + i % 5;
    b.cpu_percent = 80 + i % 9;
    done += b.files;
    b.files_done = done;
    b.files_failed = i >= 6 ? 2 : 0;
    metrics::finalize_rates(b);
    t += b.wall_s;
    b.t_end_s = t;
    in.batches.push_back(b);
  }
  for (int k = 0; k <= 72; ++k) {
    metrics::ResourceSample s;
    s.t_s = k;
    s.rss_mb = 400 + 6.0 * k - 40 * std::sin(k / 5.0);
    s.ram_total_mb = 16000;
    s.ram_used_mb = 6000 + 10.0 * k;
    s.ram_percent = 100.0 * s.ram_used_mb / s.ram_total_mb;
    s.cpu_percent = k == 0 ? 10 : 85 + (k % 11);
    if (with_gpu) s.gpu = metrics::GpuReading{3000.0 + 20.0 * (k % 30), 16384, 60.0 + k % 35, {}};
    in.samples.push_back(s);
  }
  for (int i = 0; i < n_files; ++i) {
    FileOutcome f;
    f.path = "calls/day" + std::to_string(i / 10) + "/clip_" + std::to_string(i) + ".m4a";
    f.status = "ok";
    f.audio_s = 20.0 + 13.0 * (i % 7);
    f.processing_s = 0.4 + 0.09 * ((i * 7) % 13);
    f.device = in.device;
    if (i == 3) f.status = "resumed", f.processing_s = 0;
    if (i == 5) {
      f.status = "failed";
      f.path = kHostileName;
      f.stage = "decode";
      f.error_class = "MediaError";
      f.error = "invalid data <found> when processing input & \"quotes\"";
    }
    if (i == 8) {
      f.status = "integrity_violation";
      f.stage = "hash";
      f.error_class = "IntegrityError";
      f.error = "sha256 changed while processing";
    }
    in.files.push_back(f);
  }
  for (const FileOutcome& f : in.files) {
    if (f.status != "ok") continue;
    (with_gpu ? in.gpu_audio_s : in.cpu_audio_s) += f.audio_s;
  }
  return in;
}

}  // namespace voiceman::report::testing
