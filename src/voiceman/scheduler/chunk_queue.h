#pragma once
// The batcher: speech chunks of many recordings wait here until the engine takes a batch.
// A batch starts with the oldest waiting chunk (nothing starves, files finish in about
// the order they came) and is filled with the chunks closest to it in length, which
// keeps the decoder's per-row work even. A recording whose language must be detected
// first sends only its first chunk; the rest follow once that chunk's batch is done.
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace voiceman::scheduler {

struct ChunkRef {
  size_t file = 0;  // the caller's index of the recording
  int chunk = 0;    // index within the recording
  double duration_s = 0;
  uint32_t attempt = 0;  // the caller's, passed through: which admission of the recording
};

class ChunkQueue {
 public:
  // hold_after_first: release chunks 1.. only after release_held(file).
  void add_file(size_t file, const std::vector<double>& chunk_durations, bool hold_after_first,
                uint32_t attempt = 0);
  void release_held(size_t file);
  // Removes every waiting or held chunk of the recording (it failed).
  void drop_file(size_t file);

  // Up to `size` chunks (fewer only when fewer are waiting).
  std::vector<ChunkRef> next_batch(int size);
  // Puts chunks back (a batch that must be retried in smaller pieces).
  void requeue(const std::vector<ChunkRef>& chunks);

  size_t waiting() const { return waiting_.size(); }
  size_t held() const;
  bool empty() const { return waiting_.empty() && held_.empty(); }

 private:
  struct Entry {
    int64_t order = 0;  // arrival order: the anchor of a batch is the smallest
    ChunkRef ref;
  };
  int64_t next_order_ = 0;   // new chunks count up from 0
  int64_t front_order_ = 0;  // requeued ones count down from 0
  std::vector<Entry> waiting_;
  std::map<size_t, std::vector<Entry>> held_;
};

}  // namespace voiceman::scheduler
