#pragma once
// Which failures are worth another attempt, and when.
#include <exception>
#include <vector>

#include "voiceman/manifest/records.h"

namespace voiceman::pipeline {

// permanent: the media cannot be decoded (MediaError) or an unexpected error;
// transient: out of memory, a device error, retryable I/O (IoError, std::bad_alloc);
// integrity: the original changed (never retried).
// ConfigError and ModelError concern the whole run, not one file: they are rethrown.
manifest::ErrorClass classify(const std::exception_ptr& error);

struct RetryPolicy {
  int max_retries = 3;                          // retries after the first attempt
  std::vector<double> backoff_s = {5, 15, 30};  // delay before retry k (last value repeats)

  // Seconds to wait before retry number `retry` (1-based).
  double delay_before(int retry) const;
};

}  // namespace voiceman::pipeline
