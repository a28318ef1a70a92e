// Random-weight Whisper models (the GPU benchmark's and parity tests' models) on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <span>
#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/whisper_decoder.h"
#include "voiceman/engine/models/whisper_model.h"

namespace voiceman::models {
namespace {

// A step's logits live in the decoder until its next call; the tests keep a copy.
void keep(std::vector<float>& out, std::span<const float> logits) {
  out.assign(logits.begin(), logits.end());
}

WhisperConfig tiny_config() {
  WhisperConfig c;
  c.n_mels = 16;
  c.d_model = 64;
  c.encoder_layers = c.decoder_layers = 2;
  c.encoder_heads = c.decoder_heads = 2;
  c.vocab_size = 100;
  c.max_target_positions = 32;
  c.audio_frames = 1500;
  return c;
}

// Normal log-mel-like features for `windows` windows of tiny_config's 16 mels.
Tensor random_features(int64_t windows, uint32_t seed) {
  Tensor features({windows, 16, 3000});
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist;
  for (float& v : features.span<float>()) v = dist(rng);
  return features;
}

std::vector<float> run(const WhisperModel& model) {
  ExecContext ctx;
  const Tensor features = random_features(1, 1);
  const Tensor encoded = model.encode(ctx, features);
  auto session = model.start_decoder(ctx, encoded);
  std::vector<float> logits, sot;
  session->start({{1, 2}}, std::vector<int32_t>{0}, std::vector<int32_t>{-1}, logits, sot);
  keep(logits, session->step(std::vector<int32_t>{3}));
  return logits;
}

TEST(RandomWhisper, SameSeedSameModelDifferentSeedDifferentModel) {
  const auto a = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  const auto b = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  const auto c = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 5);
  const auto la = run(*a);
  ASSERT_EQ(la.size(), 100u);
  for (float v : la) ASSERT_TRUE(std::isfinite(v));
  EXPECT_EQ(la, run(*b));
  EXPECT_NE(la, run(*c));
  EXPECT_EQ(a->device(), Device::cpu());
  EXPECT_EQ(a->dtype(), DType::f32);
}

TEST(RandomWhisper, Int8RunsAndHalfPrecisionNeedsAGpu) {
  const auto q = WhisperModel::random(tiny_config(), ComputeType::int8, Device::cpu(), 4);
  const auto f = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  const auto lq = run(*q), lf = run(*f);
  double diff = 0, scale = 0;
  for (size_t i = 0; i < lf.size(); ++i) {
    diff = std::max(diff, double(std::fabs(lq[i] - lf[i])));
    scale = std::max(scale, double(std::fabs(lf[i])));
  }
  EXPECT_LT(diff / scale, 0.1);
  EXPECT_THROW(WhisperModel::random(tiny_config(), ComputeType::float16, Device::cpu()),
               ConfigError);
  EXPECT_THROW(parse_compute_type("float8"), ConfigError);
  EXPECT_EQ(parse_compute_type("bfloat16"), ComputeType::bfloat16);
  EXPECT_EQ(activation_dtype(ComputeType::int8, Device::cuda()), DType::f16);
  EXPECT_EQ(activation_dtype(ComputeType::int8, Device::cpu()), DType::f32);
}

// A recorded step replays every address it touched, so the decoder keeps its step
// buffers and caches in place: through beam reorders, and between steps until the cache
// must grow. The logits must still be those of a decoder that never reorders in place.
TEST(RandomWhisper, StepBuffersStayInPlaceThroughReorders) {
  const auto model = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  ExecContext ctx;
  // Keeps the buffers in place; with no CUDA device the steps still run directly.
  ctx.cuda_graphs = true;
  const Tensor features = random_features(2, 3);
  const Tensor encoded = model->encode(ctx, features);
  auto session = model->start_decoder(ctx, encoded);
  std::vector<float> logits, sot;
  // Four rows over two windows, like two beams each.
  session->start({{1, 2}, {1, 2}, {1, 2, 5}, {1, 2, 5}}, std::vector<int32_t>{0, 0, 1, 1},
                 std::vector<int32_t>{-1, -1, -1, -1}, logits, sot);
  keep(logits, session->step(std::vector<int32_t>{3, 4, 6, 7}));
  const StepGraphs::Key first = session->step_buffers();
  std::vector<std::vector<float>> got;
  const std::vector<std::vector<int32_t>> orders = {{1, 1, 2, 3}, {0, 1, 3, 3}, {1, 0, 2, 2}};
  for (size_t i = 0; i < orders.size(); ++i) {
    session->select_rows(orders[i]);
    EXPECT_EQ(session->step_buffers(), first) << "after reorder " << i;
    keep(logits, session->step(std::vector<int32_t>{8, 9, 10, static_cast<int32_t>(11 + i)}));
    EXPECT_EQ(session->step_buffers(), first) << "after step " << i;
    got.push_back(logits);
  }
  EXPECT_FALSE(session->step_graphs().enabled());
  EXPECT_EQ(session->step_graphs().recorded(), 0);

  // The same decode with each row's whole history fed as a prompt: what the reorders and
  // the in-place cache writes must amount to.
  std::vector<std::vector<int32_t>> rows = {{1, 2, 3}, {1, 2, 4}, {1, 2, 5, 6}, {1, 2, 5, 7}};
  for (size_t i = 0; i < orders.size(); ++i) {
    std::vector<std::vector<int32_t>> next;
    for (int32_t from : orders[i]) next.push_back(rows[from]);
    const std::vector<int32_t> tokens = {8, 9, 10, static_cast<int32_t>(11 + i)};
    for (size_t r = 0; r < next.size(); ++r) next[r].push_back(tokens[r]);
    rows = next;
    auto fresh = model->start_decoder(ctx, encoded);
    std::vector<float> want;
    fresh->start(rows, std::vector<int32_t>{0, 0, 1, 1}, std::vector<int32_t>{-1, -1, -1, -1}, want,
                 sot);
    ASSERT_EQ(want.size(), got[i].size());
    double diff = 0;
    for (size_t j = 0; j < want.size(); ++j)
      diff = std::max(diff, double(std::fabs(want[j] - got[i][j])));
    EXPECT_LT(diff, 1e-3) << "step " << i;
  }
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  double diff = 0;
  for (size_t j = 0; j < a.size(); ++j) diff = std::max(diff, double(std::fabs(a[j] - b[j])));
  return diff;
}

// start() runs prompts over consecutive windows as one batch, of one length or padded to
// the longest: each row's logits, SOT logits, cache and next two steps must be what that
// prompt gives alone, and so must each window's language probabilities.
TEST(RandomWhisper, PromptsOfABatchRunTogetherAsTheyWouldAlone) {
  const auto model = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  ExecContext ctx;
  const Tensor features = random_features(4, 5);
  const Tensor encoded = model->encode(ctx, features);
  // Rows 0-2: one run (three windows in order, one length); row 3 the next window, another
  // length (padded into rows 0-2's run, or a run of its own); row 4 goes back to window 1;
  // row 5 is the next window with a longer prompt (rows 3 and 4 padded to its length).
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9},
                                                     {1, 2},    {3, 4},    {5, 6, 7, 8, 9}};
  const std::vector<int32_t> sources = {0, 1, 2, 3, 1, 2};
  const std::vector<int32_t> sot_index = {0, 1, -1, 0, 5, 3};
  const std::vector<int32_t> next = {10, 11, 12, 13, 14, 15};
  const size_t vocab = 100;
  for (const bool pad : {false, true}) {
    SCOPED_TRACE(pad ? "padded" : "runs of one length");
    auto session = model->start_decoder(ctx, encoded);
    session->pad_runs(pad);
    std::vector<float> last, sot, stepped, again;
    session->start(prompts, sources, sot_index, last, sot);
    keep(stepped, session->step(next));
    // A second step reads past where the padding was cached.
    keep(again, session->step(next));
    ASSERT_EQ(last.size(), prompts.size() * vocab);
    for (size_t i = 0; i < prompts.size(); ++i) {
      auto alone = model->start_decoder(ctx, encoded);
      std::vector<float> want_last, want_sot, want_step, want_again;
      alone->start({prompts[i]}, std::vector<int32_t>{sources[i]},
                   std::vector<int32_t>{sot_index[i]}, want_last, want_sot);
      keep(want_step, alone->step(std::vector<int32_t>{next[i]}));
      keep(want_again, alone->step(std::vector<int32_t>{next[i]}));
      auto row = [&](const std::vector<float>& v) {
        return std::span<const float>(v).subspan(i * vocab, vocab);
      };
      EXPECT_LT(max_abs_diff(row(last), want_last), 1e-5) << "row " << i;
      EXPECT_LT(max_abs_diff(row(stepped), want_step), 1e-5) << "row " << i;
      EXPECT_LT(max_abs_diff(row(again), want_again), 1e-5) << "row " << i;
      if (sot_index[i] >= 0 && sot_index[i] < static_cast<int32_t>(prompts[i].size())) {
        ASSERT_EQ(want_sot.size(), vocab);
        EXPECT_LT(max_abs_diff(row(sot), want_sot), 1e-5) << "row " << i;
      }
    }
  }
  auto session = model->start_decoder(ctx, encoded);
  const std::vector<int32_t> langs = {20, 21, 22, 23, 24};
  const auto probs = session->language_probs(1, langs);
  ASSERT_EQ(probs.size(), 4u);
  for (int64_t w = 0; w < 4; ++w) {
    auto alone = model->start_decoder(ctx, encoded.slice_rows(w, w + 1));
    const auto want = alone->language_probs(1, langs);
    EXPECT_LT(max_abs_diff(probs[w], want[0]), 1e-6) << "window " << w;
  }
}

// align() keeps the alignment heads' cross-attention (only their layers compute it) and
// p(token | prefix) for each token: the heads against a config that lists every head, the
// probabilities against start()'s logits for each prefix.
TEST(RandomWhisper, AlignmentKeepsItsHeadsAndEachTokensProbability) {
  WhisperConfig every = tiny_config(), some = tiny_config();
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 2; ++h) every.alignment_heads.emplace_back(l, h);
  some.alignment_heads = {{1, 1}, {0, 0}, {1, 0}};
  const auto all = WhisperModel::random(every, ComputeType::float32, Device::cpu(), 4);
  const auto part = WhisperModel::random(some, ComputeType::float32, Device::cpu(), 4);
  ExecContext ctx;
  const Tensor features = random_features(2, 7);
  const Tensor encoded = all->encode(ctx, features);
  const std::vector<int32_t> seq = {1, 2, 3, 40, 50, 60, 7};
  const AlignmentData want = all->start_decoder(ctx, encoded)->align(1, seq);
  const AlignmentData got = part->start_decoder(ctx, encoded)->align(1, seq);
  const int64_t t = 7, frames = 1500, plane = t * frames;
  ASSERT_EQ(want.weights.shape(), (std::vector<int64_t>{4, t, frames}));
  ASSERT_EQ(got.weights.shape(), (std::vector<int64_t>{3, t, frames}));
  const float* w = want.weights.data<float>();
  for (size_t i = 0; i < some.alignment_heads.size(); ++i) {
    const auto [layer, head] = some.alignment_heads[i];
    const float* g = got.weights.data<float>() + static_cast<int64_t>(i) * plane;
    EXPECT_TRUE(std::equal(g, g + plane, w + (layer * 2 + head) * plane)) << "head " << i;
  }
  for (int64_t r = 0; r < 4 * t; ++r) {
    double sum = 0;
    for (int64_t f = 0; f < frames; ++f) sum += w[r * frames + f];
    EXPECT_NEAR(sum, 1.0, 1e-4) << "row " << r;
  }
  // Every listed head is its own: a plane taken from the wrong head or layer would repeat.
  for (int64_t a = 0; a < 4; ++a)
    for (int64_t b = a + 1; b < 4; ++b)
      EXPECT_FALSE(std::equal(w + a * plane, w + (a + 1) * plane, w + b * plane)) << a << ", " << b;

  ASSERT_EQ(got.token_probs.size(), seq.size());
  EXPECT_EQ(got.token_probs[0], 1.f);
  // Over the text tokens only (here the first 45; 50 and 60 are past them), as the
  // reference's word probabilities are.
  constexpr int32_t kText = 45;
  const AlignmentData text = part->start_decoder(ctx, encoded)->align(1, seq, kText);
  ASSERT_EQ(text.token_probs.size(), seq.size());
  for (size_t i = 1; i < seq.size(); ++i) {
    auto session = part->start_decoder(ctx, encoded);
    std::vector<float> logits, sot;
    session->start({std::vector<int32_t>(seq.begin(), seq.begin() + std::ptrdiff_t(i))},
                   std::vector<int32_t>{1}, std::vector<int32_t>{-1}, logits, sot);
    const double mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0, text_sum = 0;
    for (size_t v = 0; v < logits.size(); ++v) {
      sum += std::exp(logits[v] - mx);
      if (v < kText) text_sum += std::exp(logits[v] - mx);
    }
    const double p = std::exp(logits[size_t(seq[i])] - mx) / sum;
    EXPECT_NEAR(got.token_probs[i], p, 1e-5 * p + 1e-7) << "token " << i;
    const double q = seq[i] < kText ? std::exp(logits[size_t(seq[i])] - mx) / text_sum : 0.0;
    EXPECT_NEAR(text.token_probs[i], q, 1e-5 * q + 1e-7) << "token " << i;
    if (seq[i] < kText) EXPECT_GT(text.token_probs[i], got.token_probs[i]) << "token " << i;
  }
}

// Several windows' alignments in one padded pass (what a GPU runs) give what each gives
// alone (what a CPU runs): padding stays out of the real positions, and each sequence
// gets its own planes and probabilities.
TEST(RandomWhisper, AlignmentsOfSeveralWindowsTogetherMatchEachAlone) {
  WhisperConfig config = tiny_config();
  config.alignment_heads = {{1, 1}, {0, 0}, {1, 0}};
  const auto model = WhisperModel::random(config, ComputeType::float32, Device::cpu(), 4);
  ExecContext ctx;
  const Tensor features = random_features(3, 9);
  const Tensor encoded = model->encode(ctx, features);
  std::vector<AlignRequest> requests = {
      {0, {1, 2, 3, 4, 5}}, {1, {}}, {2, {9, 8, 7, 6, 5, 4, 3, 2, 1}}, {0, {50}}, {1, {60, 61}}};
  for (int32_t i = 0; i < 20; ++i) requests[1].sequence.push_back(10 + i);  // >= 16 tokens
  auto session = model->start_decoder(ctx, encoded);
  session->pad_runs(true);
  const auto together = session->align(requests);
  session->pad_runs(false);
  const auto alone = session->align(requests);
  ASSERT_EQ(together.size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto t = static_cast<int64_t>(requests[i].sequence.size());
    ASSERT_EQ(together[i].weights.shape(), (std::vector<int64_t>{3, t, 1500})) << i;
    ASSERT_EQ(alone[i].weights.shape(), together[i].weights.shape()) << i;
    const auto n = static_cast<size_t>(together[i].weights.numel());
    EXPECT_LT(
        max_abs_diff({together[i].weights.data<float>(), n}, {alone[i].weights.data<float>(), n}),
        1e-6)
        << "request " << i;
    EXPECT_LT(max_abs_diff(together[i].token_probs, alone[i].token_probs), 1e-6) << "request " << i;
    // Alone is the one-sequence align().
    const AlignmentData single = session->align(requests[i].source, requests[i].sequence);
    EXPECT_LT(max_abs_diff(single.token_probs, alone[i].token_probs), 1e-7) << "request " << i;
  }
}

TEST(RandomWhisper, StepBuffersMoveOnlyWhenTheCacheGrows) {
  const auto model = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  ExecContext ctx;
  ctx.cuda_graphs = true;
  Tensor features({1, 16, 3000});
  const Tensor encoded = model->encode(ctx, features);
  auto session = model->start_decoder(ctx, encoded);
  std::vector<float> logits, sot;
  session->start({{1, 2}}, std::vector<int32_t>{0}, std::vector<int32_t>{-1}, logits, sot);
  std::vector<StepGraphs::Key> keys;
  // max_target_positions is 32: the cache starts there (min(64, 32)) and never grows.
  for (int i = 0; i < 20; ++i) {
    keep(logits, session->step(std::vector<int32_t>{3}));
    keys.push_back(session->step_buffers());
  }
  for (const auto& key : keys) EXPECT_EQ(key, keys.front());
  // More rows than the caches hold: they grow, and the key changes with them.
  session->select_rows(std::vector<int32_t>{0, 0});
  keep(logits, session->step(std::vector<int32_t>{3, 4}));
  EXPECT_NE(session->step_buffers(), keys.front());
  EXPECT_THROW(session->step(std::vector<int32_t>{3, 100}),
               Error);  // not in the vocabulary
}

}  // namespace
}  // namespace voiceman::models

namespace voiceman::models {
namespace {

// The last position's logits of each row's whole history, fed as prompts to a fresh decoder.
std::vector<float> prompt_logits(const WhisperModel& model, const Tensor& encoded,
                                 const std::vector<std::vector<int32_t>>& rows,
                                 std::span<const int32_t> sources) {
  ExecContext ctx;
  auto session = model.start_decoder(ctx, encoded);
  std::vector<float> logits, sot;
  session->start(rows, sources, std::vector<int32_t>(rows.size(), -1), logits, sot);
  return logits;
}

// With int8 cross keys and values the steps read the int8 copy and the prompt pass the
// float one holding the same rounded values, so a step equals the prompt pass over the
// same history; and both differ a little from the float model.
TEST(RandomWhisper, Int8CrossKeysAndValuesStepAsThePromptPassReads) {
  const auto int8 = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4,
                                         {.int8_cross_kv = true});
  const auto plain = WhisperModel::random(tiny_config(), ComputeType::float32, Device::cpu(), 4);
  ExecContext ctx;
  const Tensor features = random_features(2, 3);
  const Tensor encoded = int8->encode(ctx, features);
  auto session = int8->start_decoder(ctx, encoded);
  const std::vector<int32_t> sources = {0, 0, 1};
  std::vector<std::vector<int32_t>> rows = {{1, 2}, {1, 2}, {1, 2, 5}};
  std::vector<float> logits, sot;
  session->start(rows, sources, std::vector<int32_t>{-1, -1, -1}, logits, sot);
  for (int32_t s = 0; s < 3; ++s) {
    const std::vector<int32_t> tokens = {10 + s, 20 + s, 30 + s};
    keep(logits, session->step(tokens));
    for (size_t r = 0; r < rows.size(); ++r) rows[r].push_back(tokens[r]);
    const std::vector<float> same = prompt_logits(*int8, encoded, rows, sources);
    const std::vector<float> other = prompt_logits(*plain, encoded, rows, sources);
    ASSERT_EQ(same.size(), logits.size());
    const double to_same = max_abs_diff(logits, same), to_float = max_abs_diff(logits, other);
    double scale = 0;
    for (float v : other) scale = std::max(scale, double(std::fabs(v)));
    EXPECT_LT(to_same, 2e-5 * scale) << "step " << s;
    EXPECT_GT(to_float, 50 * to_same) << "step " << s;  // the int8 values were used
    EXPECT_LT(to_float, 0.05 * scale) << "step " << s;  // and are close to the float ones
    std::printf("[int8 cross kv] step %d: to the int8 prompt pass %.2e, to float %.2e (of %.2f)\n",
                s, to_same, to_float, scale);
  }
}

}  // namespace
}  // namespace voiceman::models
