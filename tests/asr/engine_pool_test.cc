// The engine pool on the real model: two CPU engines sharing one loaded model run two
// batches at the same time, and each batch comes back as one engine alone transcribes it.
#include "voiceman/asr/engine_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "support/paths.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"

namespace voiceman::asr {
namespace {

std::string words_of(const std::vector<ChunkOutput>& outputs) {
  std::string s;
  for (const auto& o : outputs) {
    for (const auto& seg : o.segments) s += seg.text + "|";
    s += "#";
  }
  return s;
}

class EnginePoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::model_dir("tiny.en");
    if (!std::filesystem::exists(dir_ / "model.bin")) GTEST_SKIP() << "models/tiny.en not fetched";
    model_ = models::WhisperModel::load(dir_, models::ComputeType::float32);
    const audio::Audio a = audio::read_wav(testing::shared_data_dir() / "sample.wav");
    // Four chunks: two per batch, of different lengths.
    for (double from : {0.0, 7.5, 15.0, 22.5}) {
      OwnedChunk c;
      const auto begin = static_cast<size_t>(from * 16000);
      const size_t end =
          std::min(a.samples.size(), begin + static_cast<size_t>(4 + from / 4) * 16000);
      c.audio.assign(a.samples.begin() + static_cast<std::ptrdiff_t>(begin),
                     a.samples.begin() + static_cast<std::ptrdiff_t>(end));
      c.offset = from;
      c.first = from == 0;
      chunks_.push_back(c);
    }
    options_.beam_size = 1;
    options_.condition_on_previous_text = false;
  }

  std::vector<OwnedChunk> batch(int i) const { return {chunks_[2 * i], chunks_[2 * i + 1]}; }

  std::filesystem::path dir_;
  std::shared_ptr<const models::WhisperModel> model_;
  std::vector<OwnedChunk> chunks_;
  TranscribeOptions options_;
};

TEST_F(EnginePoolTest, TwoEnginesRunAtOnceAndAgreeWithOneEngineAlone) {
  const tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(dir_);
  ExecContext one_thread;
  one_thread.threads = 1;
  // The reference: one engine, the batches one after the other.
  std::vector<std::string> alone;
  {
    EnginePool pool;
    const int e = pool.add(model_, tok, one_thread);
    for (int b = 0; b < 2; ++b) {
      pool.submit(e, static_cast<uint64_t>(b), batch(b), options_);
      EngineResult r = pool.wait();
      ASSERT_FALSE(r.error);
      EXPECT_EQ(r.tag, static_cast<uint64_t>(b));
      alone.push_back(words_of(r.outputs));
    }
  }
  EnginePool pool;
  ASSERT_EQ(pool.add(model_, tok, one_thread), 0);
  ASSERT_EQ(pool.add(model_, tok, one_thread), 1);
  pool.submit(0, 10, batch(0), options_);
  pool.submit(1, 11, batch(1), options_);
  EXPECT_THROW(pool.submit(0, 12, batch(1), options_), Error) << "engine 0 is busy";
  std::vector<EngineResult> results;
  results.push_back(pool.wait());
  results.push_back(pool.wait());
  std::set<int> engines;
  for (const EngineResult& r : results) {
    ASSERT_FALSE(r.error);
    engines.insert(r.engine);
    ASSERT_EQ(r.outputs.size(), 2u);
    EXPECT_FALSE(r.outputs[1].segments.empty()) << "speech at 7.5 s and 22.5 s";
    EXPECT_EQ(words_of(r.outputs), alone[r.tag - 10]) << "batch " << r.tag - 10;
  }
  EXPECT_EQ(engines, (std::set<int>{0, 1}));
  // Both ran at once: each started before the other finished.
  EXPECT_LT(results[0].started, results[1].finished);
  EXPECT_LT(results[1].started, results[0].finished);
  EXPECT_THROW(pool.wait(), Error) << "nothing is running";
}

TEST_F(EnginePoolTest, ABatchErrorComesBackAsTheResultAndTheEngineGoesOn) {
  EnginePool pool;
  ExecContext ctx;
  ctx.threads = 1;
  const int e = pool.add(model_, tokenizer::Tokenizer::load(dir_), ctx);
  TranscribeOptions bad = options_;
  bad.condition_on_previous_text = true;  // refused for chunks
  pool.submit(e, 1, batch(0), bad);
  const EngineResult failed = pool.wait();
  ASSERT_TRUE(failed.error);
  EXPECT_THROW(std::rethrow_exception(failed.error), ConfigError);
  pool.submit(e, 2, batch(0), options_);
  const EngineResult ok = pool.wait();
  EXPECT_FALSE(ok.error);
  EXPECT_EQ(ok.outputs.size(), 2u);
}

}  // namespace
}  // namespace voiceman::asr
