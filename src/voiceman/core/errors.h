#pragma once
// One exception hierarchy for the whole library. The CLI maps these to exit codes,
// nowhere else does.
#include <stdexcept>
#include <string>

namespace voiceman {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad options or configuration given by the user (exit code 2).
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A model folder that cannot be loaded: truncated, wrong version, missing variable...
class ModelError : public Error {
 public:
  using Error::Error;
};

// Media that cannot be read or decoded. Permanent: retrying will not help.
class MediaError : public Error {
 public:
  using Error::Error;
};

// An original changed under us, or a manifest does not match (exit code 3).
class IntegrityError : public Error {
 public:
  using Error::Error;
};

// A device ran out of memory. Transient: the scheduler halves the batch and retries.
class OutOfMemoryError : public Error {
 public:
  using Error::Error;
};

// A device or runtime failure other than memory (transient).
class DeviceError : public Error {
 public:
  using Error::Error;
};

// A read or write that failed in a way worth retrying (EIO on a flaky share, ENOSPC
// after space was freed...). Transient, unlike MediaError.
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace voiceman
