#include "voiceman/pipeline/retry.h"

#include <new>

#include "voiceman/core/errors.h"

namespace voiceman::pipeline {

manifest::ErrorClass classify(const std::exception_ptr& error) {
  using manifest::ErrorClass;
  try {
    std::rethrow_exception(error);
  } catch (const ConfigError&) {
    throw;
  } catch (const ModelError&) {
    throw;
  } catch (const MediaError&) {
    return ErrorClass::permanent;
  } catch (const IntegrityError&) {
    return ErrorClass::integrity;
  } catch (const OutOfMemoryError&) {
    return ErrorClass::transient;
  } catch (const DeviceError&) {
    return ErrorClass::transient;
  } catch (const IoError&) {
    return ErrorClass::transient;
  } catch (const std::bad_alloc&) {
    return ErrorClass::transient;
  } catch (...) {
    return ErrorClass::permanent;
  }
}

double RetryPolicy::delay_before(int retry) const {
  if (backoff_s.empty() || retry < 1) return 0;
  const size_t i = std::min(static_cast<size_t>(retry - 1), backoff_s.size() - 1);
  return backoff_s[i];
}

}  // namespace voiceman::pipeline
