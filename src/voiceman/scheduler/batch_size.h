#pragma once
// The batch-size policy: how many 30 s windows the engine gets per batch. It reacts to
// the memory signal every few batches (shrink when memory use is high, grow when low),
// at once to a critical reading, and halves on out-of-memory. Pure policy: it is fed
// readings and never measures anything itself.
#include <optional>
#include <string>
#include <vector>

namespace voiceman::scheduler {

struct BatchSizeOptions {
  int initial = 20;              // windows per batch at the start
  int max = 32;                  // never more
  int adjust_every = 5;          // batches between regular adjustments
  double shrink_above = 0.80;    // memory use fraction that shrinks the batch
  double grow_below = 0.50;      // memory use fraction that lets it grow
  double critical_above = 0.95;  // shrinks at once, without waiting for the period
  int cpu_fallback_after = 3;    // consecutive out-of-memory failures at size 1 -> CPU
};

// Throws ConfigError naming the bad field.
void validate(const BatchSizeOptions& options);

struct BatchSizeChange {
  int from = 0;
  int to = 0;
  std::string reason;  // "memory 86% > 80%", "out of memory", ...
};

class BatchSizeController {
 public:
  explicit BatchSizeController(BatchSizeOptions options);

  int size() const { return size_; }

  // After every successful batch, with the memory use fraction (used / total) of the
  // device that ran it, if known. Returns the change it made, if any.
  std::optional<BatchSizeChange> on_batch(std::optional<double> memory_fraction);
  // A reading above critical_above from the monitor: shrink now.
  std::optional<BatchSizeChange> on_critical(double memory_fraction);
  // The engine ran out of memory on a batch: halve (not below 1).
  BatchSizeChange on_out_of_memory();
  // Out-of-memory failures in a row at batch size 1 (reset by any success).
  int failures_at_minimum() const { return failures_at_minimum_; }
  bool should_fall_back_to_cpu() const {
    return failures_at_minimum_ >= options_.cpu_fallback_after;
  }
  // Starts again on another device (after a CPU fallback or the GPU's return), with that
  // device's options: its initial size and its maximum. Throws ConfigError as validate.
  void reset(const BatchSizeOptions& options);

  const std::vector<BatchSizeChange>& history() const { return history_; }

 private:
  std::optional<BatchSizeChange> change(int to, std::string reason);

  BatchSizeOptions options_;
  int size_;
  int batches_since_adjust_ = 0;
  int failures_at_minimum_ = 0;
  std::vector<BatchSizeChange> history_;
};

}  // namespace voiceman::scheduler
