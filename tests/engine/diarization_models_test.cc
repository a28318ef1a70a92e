// The diarization models on the real checkpoints (models/diarization, fetched by
// scripts/fetch-diarization-models.sh) and the two-speaker call: known answers about
// timing, shapes and who speaks. Numerical parity with pyannote.audio and resemblyzer is
// the job of tests/parity_diarization.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "support/paths.h"
#include "voiceman/audio/decode.h"
#include "voiceman/core/errors.h"
#include "voiceman/engine/models/pyannote_segmentation.h"
#include "voiceman/engine/models/speaker_encoder.h"

namespace voiceman::models {
namespace {

namespace fs = std::filesystem;

fs::path model(const std::string& name) {
  const fs::path p = testing::model_dir("diarization") / name;
  return fs::exists(p) ? p : fs::path();
}

std::vector<float> sample_call() {
  return audio::read_wav(testing::shared_data_dir() / "sample.wav").samples;
}

std::span<const float> cut(const std::vector<float>& wav, double from_s, double to_s) {
  return std::span<const float>(wav).subspan(static_cast<size_t>(from_s * 16000),
                                             static_cast<size_t>((to_s - from_s) * 16000));
}

ExecContext cpu() {
  ExecContext ctx;
  ctx.threads = 2;
  return ctx;
}

TEST(PyannoteSegmentation, WhisperxCheckpointFacts) {
  const fs::path ckpt = model("segmentation-whisperx.bin");
  if (ckpt.empty()) GTEST_SKIP() << "run scripts/fetch-diarization-models.sh";
  const auto m = PyannoteSegmentation::load(ckpt);
  EXPECT_EQ(m->sample_rate(), 16000);
  EXPECT_DOUBLE_EQ(m->window_s(), 5.0);
  EXPECT_EQ(m->num_speakers(), 3);
  EXPECT_FALSE(m->powerset());
  // SincNet: stride 10 and three max-pools of 3 -> 270 samples per frame; receptive field
  // 991 samples starting at sample 0.
  EXPECT_DOUBLE_EQ(m->frame_step_s(), 270.0 / 16000);
  EXPECT_DOUBLE_EQ(m->frame_duration_s(), 991.0 / 16000);
  EXPECT_DOUBLE_EQ(m->frame_start_s(0), 0.0);
  EXPECT_DOUBLE_EQ(m->frame_start_s(10), 2700.0 / 16000);
  EXPECT_EQ(m->num_frames(80000), 293);
  EXPECT_EQ(m->num_frames(990), 0);
  EXPECT_EQ(m->num_frames(991), 1);
}

TEST(PyannoteSegmentation, FindsTheSpeakerChangeInTheCall) {
  const fs::path ckpt = model("segmentation-whisperx.bin");
  if (ckpt.empty() || !fs::exists(testing::shared_data_dir() / "sample.wav")) GTEST_SKIP();
  const auto m = PyannoteSegmentation::load(ckpt);
  const auto wav = sample_call();
  // 10.5-15.5 s: speaker90 talks until 14.7 s, speaker91 from 14.5 s (sample.rttm).
  const auto window = cut(wav, 10.5, 15.5);
  const Tensor x = Tensor::from_vector({window.begin(), window.end()}, {1, 80000});
  const Tensor y = m->forward(cpu(), x);
  ASSERT_EQ(y.shape(), (Shape{1, 293, 3}));
  for (float v : y.span<float>()) ASSERT_TRUE(v >= 0.f && v <= 1.f);
  auto dominant = [&](double t) {
    const float* f = y.data<float>() + static_cast<int>(t / m->frame_step_s()) * 3;
    EXPECT_GT(*std::max_element(f, f + 3), 0.5f) << "at " << t << " s";
    return std::max_element(f, f + 3) - f;
  };
  EXPECT_NE(dominant(2.0), dominant(4.7));
  EXPECT_THROW(m->forward(cpu(), Tensor::zeros({1, 500})), Error);  // shorter than one frame
}

TEST(PyannoteSegmentation, LargeBatchesMatchSingleWindows) {
  const fs::path ckpt = model("segmentation-whisperx.bin");
  if (ckpt.empty() || !fs::exists(testing::shared_data_dir() / "sample.wav")) GTEST_SKIP();
  const auto m = PyannoteSegmentation::load(ckpt);
  const auto wav = sample_call();
  // 34 one-second windows: more than one internal chunk of 32.
  const auto part = cut(wav, 5.0, 39 * 0.5 + 5.5);
  Tensor batch({34, 16000});
  for (int b = 0; b < 34; ++b)
    std::copy_n(part.begin() + b * 8000, 16000, batch.data<float>() + b * 16000);
  const Tensor all = m->forward(cpu(), batch);
  const int frames = m->num_frames(16000);
  ASSERT_EQ(all.shape(), (Shape{34, frames, 3}));
  for (int b : {0, 31, 32, 33}) {
    const Tensor one = m->forward(cpu(), batch.slice_rows(b, b + 1));
    for (int i = 0; i < frames * 3; ++i)
      ASSERT_NEAR(all.data<float>()[b * frames * 3 + i], one.data<float>()[i], 1e-5) << b;
  }
}

// forward_sliding (the sinc filterbank run once over the recording, each window's input
// norm applied afterwards) against forward() on the same windows cut out one by one: more
// windows than one internal chunk, the last ones past the end (zero padded), and a step
// that is not a multiple of the SincNet stride (windows one by one).
TEST(PyannoteSegmentation, SlidingWindowsMatchWindowsCutOut) {
  const fs::path ckpt = model("segmentation-whisperx.bin");
  if (ckpt.empty() || !fs::exists(testing::shared_data_dir() / "sample.wav")) GTEST_SKIP();
  const auto m = PyannoteSegmentation::load(ckpt);
  const auto wav = sample_call();
  const auto rec = cut(wav, 3.0, 15.0);  // 12 s
  const int64_t window = std::llround(m->window_s() * 16000);
  const int frames = m->num_frames(window);
  for (const int64_t step : {int64_t{4000}, int64_t{4005}}) {
    const int count = 36;  // the last windows run past the 12 s
    ASSERT_GT((count - 1) * step + window, static_cast<int64_t>(rec.size()));
    Tensor windows({count, window});
    std::fill(windows.data<float>(), windows.data<float>() + count * window, 0.f);
    for (int w = 0; w < count; ++w) {
      const int64_t a = std::min<int64_t>(w * step, rec.size());
      std::copy_n(rec.begin() + a, std::min<int64_t>(window, rec.size() - a),
                  windows.data<float>() + w * window);
    }
    const Tensor want = m->forward(cpu(), windows);
    const Tensor got = m->forward_sliding(cpu(), rec, step, count);
    ASSERT_EQ(got.shape(), (Shape{count, frames, 3}));
    double worst = 0, sum = 0;
    for (int64_t i = 0; i < want.numel(); ++i) {
      const double d = std::fabs(want.data<float>()[i] - got.data<float>()[i]);
      worst = std::max(worst, d);
      sum += d;
    }
    // The sinc front differs from the cut-out path by float32 rounding (~3e-6 relative);
    // a few ill-conditioned windows amplify that to ~2e-3 (tests/parity_diarization
    // documents the same against torch). A wrong offset or norm is off by far more.
    EXPECT_LT(worst, 5e-3) << "step " << step;
    EXPECT_LT(sum / double(want.numel()), 5e-5) << "step " << step;
  }
  EXPECT_EQ(m->forward_sliding(cpu(), rec, 8000, 0).dim(0), 0);
  EXPECT_THROW(m->forward_sliding(cpu(), rec, 0, 3), Error);
}

TEST(PyannoteSegmentation, RejectsOtherCheckpoints) {
  const fs::path ckpt = model("resemblyzer.pt");
  if (ckpt.empty()) GTEST_SKIP();
  EXPECT_THROW(PyannoteSegmentation::load(ckpt), ModelError);
}

TEST(SpeakerEncoder, PartialWindowsAsResemblyzer) {
  // compute_partial_slices(n, rate=1.3, min_coverage=0.75): 160-frame partials every 77.
  EXPECT_EQ(SpeakerEncoder::partial_starts(8000), (std::vector<int>{0}));
  // 3 s: 301 frames; the third partial covers (48000 - 24640) / 25600 = 0.91: kept.
  EXPECT_EQ(SpeakerEncoder::partial_starts(16000 * 3), (std::vector<int>{0, 77, 154}));
  // 2.5 s: 251 frames; starts 0, 77, 154; the last covers (40000 - 24640) / 25600 = 0.6
  // of its window (< 0.75) and is dropped.
  EXPECT_EQ(SpeakerEncoder::partial_starts(40000), (std::vector<int>{0, 77}));
  EXPECT_EQ(SpeakerEncoder::partial_starts(16000 * 10).size(), 12u);
}

TEST(SpeakerEncoder, NormalizeVolumeOnlyIncreases) {
  std::vector<float> quiet(1600, 0.001f), loud(1600, 0.5f);
  const auto q = SpeakerEncoder::normalize_volume(quiet);
  // -30 dBFS: rms * 32767 = 32767 * 10^(-1.5)
  EXPECT_NEAR(q[0], std::pow(10.0, -1.5), 1e-6);
  EXPECT_EQ(SpeakerEncoder::normalize_volume(loud), loud);
  EXPECT_EQ(SpeakerEncoder::normalize_volume(std::vector<float>(10, 0.f)),
            std::vector<float>(10, 0.f));
}

TEST(SpeakerEncoder, SameSpeakerIsCloserInTheCall) {
  const fs::path ckpt = model("resemblyzer.pt");
  if (ckpt.empty() || !fs::exists(testing::shared_data_dir() / "sample.wav")) GTEST_SKIP();
  const auto enc = SpeakerEncoder::load(ckpt);
  EXPECT_EQ(enc->dim(), 256);
  const auto wav = sample_call();
  // Single-speaker stretches of sample.rttm: A = speaker90, B = speaker91.
  const auto e = enc->embed_batch(cpu(), {cut(wav, 10.6, 14.4), cut(wav, 18.6, 21.4),
                                          cut(wav, 14.8, 17.9), cut(wav, 22.0, 27.8)});
  ASSERT_EQ(e.size(), 4u);
  auto cos = [&](int a, int b) {
    double s = 0;
    for (int i = 0; i < 256; ++i) s += double(e[a][i]) * e[b][i];
    return s;
  };
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(cos(i, i), 1.0, 1e-5);
  EXPECT_GT(cos(0, 1), cos(0, 2) + 0.05);
  EXPECT_GT(cos(0, 1), cos(0, 3) + 0.05);
  EXPECT_GT(cos(2, 3), cos(2, 1) + 0.05);
  // embed() is embed_batch() of one clip; empty audio gives zeros.
  const auto single = enc->embed(cpu(), cut(wav, 10.6, 14.4));
  for (int i = 0; i < 256; ++i) EXPECT_NEAR(single[i], e[0][i], 1e-6);
  for (float v : enc->embed(cpu(), {})) EXPECT_EQ(v, 0.f);
}

TEST(SpeakerEncoder, RejectsOtherCheckpoints) {
  const fs::path ckpt = model("segmentation-whisperx.bin");
  if (ckpt.empty()) GTEST_SKIP();
  EXPECT_THROW(SpeakerEncoder::load(ckpt), ModelError);
}

}  // namespace
}  // namespace voiceman::models
