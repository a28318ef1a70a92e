#include "voiceman/scheduler/batch_size.h"

#include <algorithm>
#include <cmath>

#include "voiceman/core/errors.h"

namespace voiceman::scheduler {
namespace {

std::string percent(double fraction) {
  return std::to_string(static_cast<int>(std::lround(fraction * 100))) + "%";
}

}  // namespace

void validate(const BatchSizeOptions& o) {
  if (o.max < 1) throw ConfigError("the maximum batch size must be at least 1");
  if (o.initial < 1 || o.initial > o.max)
    throw ConfigError("the initial batch size must be between 1 and the maximum (" +
                      std::to_string(o.max) + "), not " + std::to_string(o.initial));
  if (o.adjust_every < 1) throw ConfigError("batch size adjustment period must be at least 1");
  if (!(o.grow_below > 0 && o.grow_below < o.shrink_above && o.shrink_above < o.critical_above &&
        o.critical_above <= 1))
    throw ConfigError("memory thresholds must satisfy 0 < grow < shrink < critical <= 1");
  if (o.cpu_fallback_after < 1) throw ConfigError("cpu fallback count must be at least 1");
}

BatchSizeController::BatchSizeController(BatchSizeOptions options)
    : options_(options), size_(options.initial) {
  validate(options_);
}

std::optional<BatchSizeChange> BatchSizeController::change(int to, std::string reason) {
  to = std::clamp(to, 1, options_.max);
  batches_since_adjust_ = 0;
  if (to == size_) return std::nullopt;
  BatchSizeChange c{size_, to, std::move(reason)};
  size_ = to;
  history_.push_back(c);
  return c;
}

std::optional<BatchSizeChange> BatchSizeController::on_batch(
    std::optional<double> memory_fraction) {
  failures_at_minimum_ = 0;
  if (++batches_since_adjust_ < options_.adjust_every) return std::nullopt;
  batches_since_adjust_ = 0;
  if (!memory_fraction) return std::nullopt;
  const double m = *memory_fraction;
  // Steps of a quarter: big enough to matter, small enough not to oscillate.
  const int step = std::max(1, size_ / 4);
  if (m > options_.shrink_above)
    return change(size_ - step, "memory " + percent(m) + " > " + percent(options_.shrink_above));
  if (m < options_.grow_below && size_ < options_.max)
    return change(size_ + step, "memory " + percent(m) + " < " + percent(options_.grow_below));
  return std::nullopt;
}

std::optional<BatchSizeChange> BatchSizeController::on_critical(double memory_fraction) {
  if (memory_fraction <= options_.critical_above) return std::nullopt;
  return change(size_ / 2,
                "memory " + percent(memory_fraction) + " > " + percent(options_.critical_above));
}

BatchSizeChange BatchSizeController::on_out_of_memory() {
  if (size_ == 1) {
    ++failures_at_minimum_;
    return {1, 1, "out of memory at batch size 1"};
  }
  const int from = size_;
  change(size_ / 2, "out of memory");
  return {from, size_, "out of memory"};
}

void BatchSizeController::reset(const BatchSizeOptions& options) {
  validate(options);
  options_ = options;
  failures_at_minimum_ = 0;
  batches_since_adjust_ = 0;
  change(options.initial, "device changed");
}

}  // namespace voiceman::scheduler
