#include "voiceman/scheduler/chunk_queue.h"

#include <gtest/gtest.h>

#include <set>

namespace voiceman::scheduler {
namespace {

std::vector<std::pair<size_t, int>> ids(const std::vector<ChunkRef>& batch) {
  std::vector<std::pair<size_t, int>> out;
  for (const auto& r : batch) out.emplace_back(r.file, r.chunk);
  return out;
}

TEST(ChunkQueue, BatchesAcrossFilesGroupedByLength) {
  ChunkQueue q;
  q.add_file(0, {30, 4}, false);
  q.add_file(1, {29, 5}, false);
  q.add_file(2, {28, 3.5}, false);
  // Anchor = file 0 chunk 0 (30 s); the two closest are the 29 s and 28 s chunks.
  EXPECT_EQ(ids(q.next_batch(3)), (std::vector<std::pair<size_t, int>>{{0, 0}, {1, 0}, {2, 0}}));
  EXPECT_EQ(ids(q.next_batch(3)), (std::vector<std::pair<size_t, int>>{{0, 1}, {1, 1}, {2, 1}}));
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.next_batch(3).empty());
}

TEST(ChunkQueue, OldestChunkIsAlwaysTaken) {
  ChunkQueue q;
  q.add_file(0, {2}, false);
  for (size_t f = 1; f < 10; ++f) q.add_file(f, {30}, false);
  const auto batch = q.next_batch(4);
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch[0].file, 0u);  // the short oldest chunk does not starve
}

TEST(ChunkQueue, EveryChunkIsScheduledExactlyOnce) {
  ChunkQueue q;
  std::set<std::pair<size_t, int>> expected;
  for (size_t f = 0; f < 17; ++f) {
    std::vector<double> d;
    for (int c = 0; c < static_cast<int>(f % 5) + 1; ++c) {
      d.push_back(1.0 + static_cast<double>((f * 7 + c * 3) % 29));
      expected.insert({f, c});
    }
    q.add_file(f, d, false);
  }
  std::set<std::pair<size_t, int>> seen;
  while (!q.empty())
    for (const auto& r : q.next_batch(6)) EXPECT_TRUE(seen.insert({r.file, r.chunk}).second);
  EXPECT_EQ(seen, expected);
}

TEST(ChunkQueue, HeldChunksWaitForTheLanguage) {
  ChunkQueue q;
  q.add_file(0, {10, 10, 10}, true);
  EXPECT_EQ(q.waiting(), 1u);
  EXPECT_EQ(q.held(), 2u);
  EXPECT_EQ(ids(q.next_batch(8)), (std::vector<std::pair<size_t, int>>{{0, 0}}));
  EXPECT_TRUE(q.next_batch(8).empty());
  EXPECT_FALSE(q.empty());
  q.release_held(0);
  EXPECT_EQ(ids(q.next_batch(8)), (std::vector<std::pair<size_t, int>>{{0, 1}, {0, 2}}));
}

TEST(ChunkQueue, RequeuedChunksComeFirst) {
  ChunkQueue q;
  q.add_file(0, {10, 10}, false);
  q.add_file(1, {10}, false);
  auto batch = q.next_batch(2);
  q.requeue(batch);
  q.add_file(2, {10}, false);
  EXPECT_EQ(ids(q.next_batch(1)), (std::vector<std::pair<size_t, int>>{{0, 0}}));
  EXPECT_EQ(ids(q.next_batch(1)), (std::vector<std::pair<size_t, int>>{{0, 1}}));
  EXPECT_EQ(ids(q.next_batch(1)), (std::vector<std::pair<size_t, int>>{{1, 0}}));
}

// The pipeline tells a recording's admissions apart by it: a chunk of a failed earlier
// attempt that comes back (put back after running out of memory) must say so.
TEST(ChunkQueue, ChunksKeepTheirAttemptThroughHoldingAndRequeueing) {
  ChunkQueue q;
  q.add_file(0, {10, 10}, true, 7);
  q.add_file(1, {10}, false);
  auto first = q.next_batch(8);
  ASSERT_EQ(first.size(), 2u);
  for (const ChunkRef& r : first) EXPECT_EQ(r.attempt, r.file == 0 ? 7u : 0u);
  q.requeue(first);
  q.release_held(0);
  const auto all = q.next_batch(8);
  ASSERT_EQ(all.size(), 3u);
  for (const ChunkRef& r : all) EXPECT_EQ(r.attempt, r.file == 0 ? 7u : 0u) << r.chunk;
}

TEST(ChunkQueue, DropRemovesWaitingAndHeld) {
  ChunkQueue q;
  q.add_file(0, {10, 10}, true);
  q.add_file(1, {10}, false);
  q.drop_file(0);
  EXPECT_EQ(ids(q.next_batch(8)), (std::vector<std::pair<size_t, int>>{{1, 0}}));
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace voiceman::scheduler
