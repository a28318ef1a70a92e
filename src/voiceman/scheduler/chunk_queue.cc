#include "voiceman/scheduler/chunk_queue.h"

#include <algorithm>
#include <cmath>

namespace voiceman::scheduler {

void ChunkQueue::add_file(size_t file, const std::vector<double>& chunk_durations,
                          bool hold_after_first, uint32_t attempt) {
  for (size_t c = 0; c < chunk_durations.size(); ++c) {
    Entry e{next_order_++, ChunkRef{file, static_cast<int>(c), chunk_durations[c], attempt}};
    if (hold_after_first && c > 0)
      held_[file].push_back(e);
    else
      waiting_.push_back(e);
  }
}

void ChunkQueue::release_held(size_t file) {
  auto it = held_.find(file);
  if (it == held_.end()) return;
  waiting_.insert(waiting_.end(), it->second.begin(), it->second.end());
  held_.erase(it);
}

void ChunkQueue::drop_file(size_t file) {
  held_.erase(file);
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [&](const Entry& e) { return e.ref.file == file; }),
                 waiting_.end());
}

size_t ChunkQueue::held() const {
  size_t n = 0;
  for (const auto& [file, entries] : held_) n += entries.size();
  return n;
}

std::vector<ChunkRef> ChunkQueue::next_batch(int size) {
  std::vector<ChunkRef> batch;
  if (waiting_.empty() || size < 1) return batch;
  const auto anchor =
      std::min_element(waiting_.begin(), waiting_.end(),
                       [](const Entry& a, const Entry& b) { return a.order < b.order; });
  const double length = anchor->ref.duration_s;
  // Closest in length first; arrival order breaks ties, so the choice is deterministic.
  std::stable_sort(waiting_.begin(), waiting_.end(), [&](const Entry& a, const Entry& b) {
    const double da = std::abs(a.ref.duration_s - length);
    const double db = std::abs(b.ref.duration_s - length);
    return da != db ? da < db : a.order < b.order;
  });
  const size_t n = std::min(waiting_.size(), static_cast<size_t>(size));
  // The anchor is at distance 0 and oldest among equals, so it is always taken.
  for (size_t i = 0; i < n; ++i) batch.push_back(waiting_[i].ref);
  waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(n));
  std::sort(batch.begin(), batch.end(), [](const ChunkRef& a, const ChunkRef& b) {
    return a.file != b.file ? a.file < b.file : a.chunk < b.chunk;
  });
  return batch;
}

void ChunkQueue::requeue(const std::vector<ChunkRef>& chunks) {
  // Ahead of everything waiting: they are the oldest work. Given order is kept.
  int64_t order = front_order_ - static_cast<int64_t>(chunks.size());
  front_order_ = order;
  for (const ChunkRef& r : chunks) waiting_.push_back(Entry{order++, r});
}

}  // namespace voiceman::scheduler
