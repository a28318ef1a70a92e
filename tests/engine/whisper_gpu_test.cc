// The Whisper model on a CUDA device against the same model on the CPU (random weights,
// so no model files are needed), and the throughput benchmark that scripts/gpu-check.sh
// runs against HF transformers. Label "gpu": everything skips without a CUDA device.
//
// Whole-model tolerances (max|gpu - cpu| / max|cpu| over encoder states and logits,
// 4+4 layers): float32 2e-3, float16 3e-2, bfloat16 1e-1, int8 weights with float16
// activations against the CPU's int8 5e-2.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>

#include "support/gpu_parity.h"
#include "voiceman/core/errors.h"
#include "voiceman/decoding/fast_math.h"
#include "voiceman/engine/cuda/device_probe.h"
#include "voiceman/engine/cuda/nvml.h"
#include "voiceman/engine/cuda/runtime.h"
#include "voiceman/engine/models/step_graphs.h"
#include "voiceman/engine/models/whisper_decoder.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::models {
namespace {

using voiceman::testing::relative_error;

// A step's logits live in the decoder until its next call; the tests keep a copy.
void keep(std::vector<float>& out, std::span<const float> logits) {
  out.assign(logits.begin(), logits.end());
}

// Token probabilities but the first, which is 1 by construction (whisper_alignment.cc):
// beside it the others (about 1e-4 here) would be within any tolerance of zero.
std::vector<float> after_first(const std::vector<float>& probs) {
  return probs.empty() ? probs : std::vector<float>(probs.begin() + 1, probs.end());
}

ExecContext context(Device device) {
  ExecContext ctx;
  ctx.device = device;
  // The CPU reference may run on the GPU machine's built-in SGEMM: use its cores.
  ctx.threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 2u, 16u));
  return ctx;
}

Tensor host_float(const Tensor& t) {
  Tensor h = t.device().is_cpu() ? t : t.to(Device::cpu());
  if (h.dtype() == DType::f32) return h;
  Tensor f;
  ops::cast(ExecContext{}, h, DType::f32, f);
  return f;
}

void expect_close(const char* what, const char* type, const std::vector<float>& got,
                  const std::vector<float>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size()) << what;
  const double err = relative_error(got.data(), want.data(), want.size());
  std::printf("[parity] model %-22s %-9s rel_err %.2e (tolerance %.0e)\n", what, type, err,
              tolerance);
  EXPECT_LE(err, tolerance) << what << " " << type;
}

WhisperConfig small_config() {
  WhisperConfig c;  // tiny's shape with a smaller vocabulary
  c.n_mels = 80;
  c.d_model = 384;
  c.encoder_layers = c.decoder_layers = 4;
  c.encoder_heads = c.decoder_heads = 6;
  c.vocab_size = 3000;
  c.alignment_heads = {{2, 1}, {3, 4}};
  return c;
}

Tensor random_features(int64_t batch, int n_mels, uint32_t seed) {
  return voiceman::testing::normal_tensor({batch, n_mels, 3000}, seed, 0.f, 1.f);
}

class GpuWhisper : public voiceman::testing::GpuTest {};

struct ModelCase {
  ComputeType gpu_type, cpu_type;
  double tolerance;
  bool int8_cross_kv = false;  // both models' (DecoderOptions)
};

TEST_F(GpuWhisper, EncoderAndDecoderMatchTheCpu) {
  const WhisperConfig c = small_config();
  const Tensor features = random_features(2, c.n_mels, 5);
  const ModelCase cases[] = {{ComputeType::float32, ComputeType::float32, 2e-3},
                             {ComputeType::float16, ComputeType::float32, 3e-2},
                             {ComputeType::bfloat16, ComputeType::float32, 1e-1},
                             {ComputeType::int8, ComputeType::int8, 5e-2},
                             {ComputeType::float32, ComputeType::float32, 2e-3, true},
                             {ComputeType::float16, ComputeType::float32, 3e-2, true}};
  for (const ModelCase& mc : cases) {
    const std::string type = compute_type_name(mc.gpu_type) + (mc.int8_cross_kv ? "+int8kv" : "");
    const DecoderOptions decoder{.int8_cross_kv = mc.int8_cross_kv};
    const auto cpu_model = WhisperModel::random(c, mc.cpu_type, Device::cpu(), 11, decoder);
    const auto gpu_model = WhisperModel::random(c, mc.gpu_type, Device::cuda(0), 11, decoder);
    const ExecContext cpu = context(Device::cpu()), gpu = context(Device::cuda(0));
    const Tensor enc_cpu = cpu_model->encode(cpu, features);
    const Tensor enc_gpu = gpu_model->encode(gpu, features);
    EXPECT_EQ(enc_gpu.device(), Device::cuda(0));
    EXPECT_EQ(enc_gpu.dtype(), gpu_model->dtype());
    expect_close("encoder states", type.c_str(), host_float(enc_gpu).to_vector(),
                 enc_cpu.to_vector(), mc.tolerance);

    auto a = cpu_model->start_decoder(cpu, enc_cpu);
    auto b = gpu_model->start_decoder(gpu, enc_gpu);
    // Two lengths over consecutive windows: the GPU pads them into one pass, the CPU runs
    // each alone; the steps after them read past the GPU's cached padding.
    const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {4, 5}};
    const std::vector<int32_t> source = {0, 1}, sot = {0, -1};
    std::vector<float> la, sa, lb, sb;
    a->start(prompts, source, sot, la, sa);
    b->start(prompts, source, sot, lb, sb);
    expect_close("prompt logits", type.c_str(), lb, la, mc.tolerance);
    expect_close("sot logits", type.c_str(), sb, sa, mc.tolerance);
    for (const std::vector<int32_t>& tokens : {std::vector<int32_t>{7, 9}, {11, 13}}) {
      keep(la, a->step(tokens));
      keep(lb, b->step(tokens));
      expect_close("step logits", type.c_str(), lb, la, mc.tolerance);
    }
    // Beam-style reordering: the caches follow their rows.
    const std::vector<int32_t> pick = {1, 0, 0};
    a->select_rows(pick);
    b->select_rows(pick);
    keep(la, a->step(std::vector<int32_t>{3, 4, 5}));
    keep(lb, b->step(std::vector<int32_t>{3, 4, 5}));
    expect_close("logits after select", type.c_str(), lb, la, mc.tolerance);

    const std::vector<int32_t> langs = {10, 11, 12};
    const auto pa = a->language_probs(1, langs), pb = b->language_probs(1, langs);
    for (size_t w = 0; w < pa.size(); ++w)
      expect_close("language probs", type.c_str(), pb[w], pa[w], mc.tolerance);
    const std::vector<int32_t> sequence = {1, 2, 3, 4, 5};
    const AlignmentData da = a->align(0, sequence), db = b->align(0, sequence);
    EXPECT_TRUE(db.weights.device().is_cpu());
    expect_close("alignment weights", type.c_str(), db.weights.to_vector(), da.weights.to_vector(),
                 mc.tolerance);
    expect_close("token probs", type.c_str(), after_first(db.token_probs),
                 after_first(da.token_probs), mc.tolerance);

    // A batch's prompts of one length in one pass, and several windows' alignments in one
    // padded pass (the GPU's way), against the CPU running each alignment alone.
    auto a2 = cpu_model->start_decoder(cpu, enc_cpu);
    auto b2 = gpu_model->start_decoder(gpu, enc_gpu);
    const std::vector<int32_t> both = {0, 1};
    a2->start({{1, 2, 3}, {4, 5, 6}}, both, both, la, sa);
    b2->start({{1, 2, 3}, {4, 5, 6}}, both, both, lb, sb);
    expect_close("batched prompt logits", type.c_str(), lb, la, mc.tolerance);
    expect_close("batched sot logits", type.c_str(), sb, sa, mc.tolerance);
    std::vector<AlignRequest> requests = {{0, {1, 2, 3, 4, 5}}, {1, {}}};
    for (int32_t i = 0; i < 40; ++i) requests[1].sequence.push_back(6 + i);
    a2->pad_runs(false);
    b2->pad_runs(true);
    const auto ra = a2->align(requests), rb = b2->align(requests);
    for (size_t i = 0; i < requests.size(); ++i) {
      expect_close("padded alignment weights", type.c_str(), rb[i].weights.to_vector(),
                   ra[i].weights.to_vector(), mc.tolerance);
      expect_close("padded token probs", type.c_str(), after_first(rb[i].token_probs),
                   after_first(ra[i].token_probs), mc.tolerance);
    }
  }
}

// Two engines on one device, each on its own stream and thread (voiceman run
// --engines-per-device 2): every result equals the one the engine gets alone.
TEST_F(GpuWhisper, TwoStreamsAtOnceGiveTheResultsOfOne) {
  const WhisperConfig c = small_config();
  const auto model = WhisperModel::random(c, ComputeType::float16, Device::cuda(0), 11);
  auto run = [&](const ExecContext& ctx, uint32_t seed) {
    const Tensor encoded = model->encode(ctx, random_features(3, c.n_mels, seed));
    auto dec = model->start_decoder(ctx, encoded);
    std::vector<float> logits, sot, all;
    dec->start({{1, 2, 3}, {4, 5}, {6}}, std::vector<int32_t>{0, 1, 2},
               std::vector<int32_t>{0, -1, -1}, logits, sot);
    all = logits;
    for (int step = 0; step < 40; ++step) {  // the caches grow past their first size
      const auto t = static_cast<int32_t>(7 + step);
      keep(logits, dec->step(std::vector<int32_t>{t, t + 1, t + 2}));
      all.insert(all.end(), logits.begin(), logits.end());
    }
    return all;
  };
  const std::vector<float> want_a = run(context(Device::cuda(0)), 21);
  const std::vector<float> want_b = run(context(Device::cuda(0)), 22);
  std::atomic<int> mismatches{0};
  auto engine = [&](uint32_t seed, const std::vector<float>& want) {
    voiceman::cuda::Stream stream(Device::cuda(0));
    ExecContext ctx = context(Device::cuda(0));
    ctx.stream = stream.get();
    // Freed blocks are reused between rounds. Same kernels, so the results should be
    // equal; the tolerance only spares a cuBLAS algorithm choice, not a race.
    for (int round = 0; round < 4; ++round) {
      const std::vector<float> got = run(ctx, seed);
      if (got.size() != want.size() || relative_error(got.data(), want.data(), want.size()) > 1e-3)
        ++mismatches;
    }
  };
  std::thread a(engine, 21, std::cref(want_a)), b(engine, 22, std::cref(want_b));
  a.join();
  b.join();
  EXPECT_EQ(mismatches.load(), 0) << "rounds whose logits differ from the engine alone";
}

// A decoder of `model` on its own stream, graphs on or off, over two random windows and
// started with four prompts (two per window), handed to `body` while the stream lives.
void with_started_decoder(const WhisperModel& model, bool graphs,
                          const std::function<void(WhisperDecoder&)>& body) {
  voiceman::cuda::Stream stream(Device::cuda(0));
  ExecContext ctx = context(Device::cuda(0));
  ctx.stream = stream.get();
  ctx.cuda_graphs = graphs;
  const auto& c = model.config();
  const Tensor encoded = model.encode(ctx, random_features(2, c.n_mels, 31));
  auto dec = model.start_decoder(ctx, encoded);
  std::vector<float> logits, sot;
  dec->start({{1, 2, 3}, {1, 2, 3}, {4, 5}, {4, 5}}, std::vector<int32_t>{0, 0, 1, 1},
             std::vector<int32_t>{-1, -1, -1, -1}, logits, sot);
  body(*dec);
}

// Decoder steps replayed as CUDA graphs (ExecContext::cuda_graphs) against the same steps
// run directly, through beam reorders and cache growth, in float16 and in int8 (whose
// linear layers record pool temporaries). Both run on owned streams, one graphed engine
// beside an ungraphed one, so a replay that wrote a block the pool had lent out again, or
// a capture broken by the neighbour, shows up as a mismatch.
TEST_F(GpuWhisper, GraphStepsEqualDirectSteps) {
  const WhisperConfig c = small_config();
  for (ComputeType type : {ComputeType::float16, ComputeType::int8}) {
    const auto model = WhisperModel::random(c, type, Device::cuda(0), 13);
    int64_t recorded = 0, replays = 0;
    auto run = [&](bool graphs) {
      std::vector<float> all;
      with_started_decoder(*model, graphs, [&](WhisperDecoder& dec) {
        std::vector<float> logits;
        for (int step = 0; step < 90; ++step) {  // the caches grow at 64 positions
          const auto t = static_cast<int32_t>(7 + step % 50);
          keep(logits, dec.step(std::vector<int32_t>{t, t + 1, t + 2, t + 3}));
          all.insert(all.end(), logits.begin(), logits.end());
          if (step % 3 == 0) dec.select_rows(std::vector<int32_t>{1, 0, 3, 3});
        }
        if (graphs) {
          recorded = dec.step_graphs().recorded();
          replays = dec.step_graphs().replays();
        }
      });
      return all;
    };
    const std::vector<float> direct = run(false);
    std::vector<float> graphed, beside;
    std::thread neighbour([&] { beside = run(false); });
    graphed = run(true);
    neighbour.join();
    const std::string name = compute_type_name(type);
    EXPECT_GE(recorded, 2) << name << ": one graph per cache capacity";
    EXPECT_GE(replays, 80) << name;
    ASSERT_EQ(graphed.size(), direct.size());
    const double err = relative_error(graphed.data(), direct.data(), direct.size());
    std::printf(
        "[parity] graph steps %-8s rel_err %.2e over 90 steps (%lld recorded, %lld "
        "replays)\n",
        name.c_str(), err, static_cast<long long>(recorded), static_cast<long long>(replays));
    // The same kernels on the same inputs: equal up to a cuBLAS algorithm choice.
    EXPECT_LE(err, 1e-3) << name;
    EXPECT_LE(relative_error(beside.data(), direct.data(), direct.size()), 1e-3) << name;
  }
}

// Rows dropped and then added back (finished rows, then samples of a fallback): a replayed
// step must hand back as many logits as rows, not as many as the last direct step had.
TEST_F(GpuWhisper, GraphStepsFollowTheRowCountDownAndUp) {
  const WhisperConfig c = small_config();
  const auto model = WhisperModel::random(c, ComputeType::float16, Device::cuda(0), 17);
  // Replays during the steps of two rows and of four (the reorders replay graphs too).
  std::map<size_t, int64_t> replayed;
  auto run = [&](bool graphs) {
    std::vector<float> all;
    with_started_decoder(*model, graphs, [&](WhisperDecoder& dec) {
      std::vector<float> logits;
      for (int step = 0; step < 40; ++step) {
        const auto t = static_cast<int32_t>(7 + step);
        std::vector<int32_t> tokens(dec.rows());
        for (size_t r = 0; r < tokens.size(); ++r) tokens[r] = t + static_cast<int32_t>(r);
        const int64_t before = dec.step_graphs().replays();
        keep(logits, dec.step(tokens));
        replayed[tokens.size()] += dec.step_graphs().replays() - before;
        EXPECT_EQ(logits.size(), tokens.size() * static_cast<size_t>(c.vocab_size)) << step;
        all.insert(all.end(), logits.begin(), logits.end());
        // Four rows for three steps, two for three, four again, ...
        if (step % 6 == 2) dec.select_rows(std::vector<int32_t>{0, 3});
        if (step % 6 == 5) dec.select_rows(std::vector<int32_t>{0, 1, 1, 0});
      }
    });
    return all;
  };
  const std::vector<float> direct = run(false);
  const std::vector<float> graphed = run(true);
  EXPECT_GT(replayed[2], 0) << "steps of two rows are replayed";
  EXPECT_GT(replayed[4], 0) << "steps of four rows are replayed";
  ASSERT_EQ(graphed.size(), direct.size());
  EXPECT_LE(relative_error(graphed.data(), direct.data(), direct.size()), 1e-3);
}

// A step that cannot be recorded (here: it uploads a host table) runs directly, and the
// decoders of later batches of the same model do not try to record it again.
TEST_F(GpuWhisper, AFailedRecordingIsNotRetriedByLaterDecoders) {
  voiceman::cuda::Stream stream(Device::cuda(0));
  ExecContext ctx = context(Device::cuda(0));
  ctx.stream = stream.get();
  ctx.cuda_graphs = true;
  const Tensor host_table = voiceman::testing::normal_tensor({4, 8}, 5, 0.f, 1.f);
  const Tensor table = host_table.to(ctx.device);
  const std::vector<int32_t> ids = {3, 1};
  Tensor out;
  const StepGraphs::Key key = {1, 2, 3};
  const auto body = [&](const ExecContext& c) { ops::embedding(c, table, ids, out); };
  std::atomic<bool> failed{false};
  StepGraphs first(ctx, failed);
  ASSERT_TRUE(first.enabled());
  for (int step = 0; step < 3; ++step) first.run(ctx, key, body);
  EXPECT_FALSE(first.enabled());
  EXPECT_EQ(first.recorded(), 0);
  EXPECT_TRUE(failed.load());
  // The step still ran, on a stream that works after the abandoned capture.
  const Tensor got = out.to(Device::cpu());
  for (int j = 0; j < 8; ++j) {
    EXPECT_EQ(got.data<float>()[j], host_table.data<float>()[3 * 8 + j]) << j;
    EXPECT_EQ(got.data<float>()[8 + j], host_table.data<float>()[8 + j]) << j;
  }
  const StepGraphs later(ctx, failed);
  EXPECT_FALSE(later.enabled()) << "a later decoder of the same model";
  std::atomic<bool> other_model{false};
  EXPECT_TRUE(StepGraphs(ctx, other_model).enabled()) << "another model tries for itself";
}

TEST_F(GpuWhisper, ContextOnAnotherDeviceIsRejected) {
  const auto model = WhisperModel::random(small_config(), ComputeType::float16, Device::cuda(0));
  EXPECT_THROW(model->encode(context(Device::cpu()), random_features(1, 80, 1)), DeviceError);
  EXPECT_THROW(WhisperModel::random(small_config(), ComputeType::float16, Device::cpu()),
               ConfigError);
}

// ---- Throughput benchmark (run by gpu-check.sh; skipped unless VOICEMAN_BENCH=1) ----

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

WhisperConfig bench_config(const std::string& arch) {
  WhisperConfig c;
  c.n_mels = 128;
  c.d_model = 1280;
  c.encoder_heads = c.decoder_heads = 20;
  c.encoder_layers = 32;
  c.decoder_layers = arch == "large-v3-turbo" ? 4 : 32;
  c.vocab_size = 51866;
  return c;
}

// Samples cuda:0's utilisation and memory through NVML once a second while alive. NVML
// numbers every GPU of the machine while CUDA numbers the visible ones: the two meet at
// the PCI bus id, as in the run's metrics.
class UtilizationSampler {
 public:
  UtilizationSampler() : nvml_(voiceman::cuda::Nvml::open()) {
    const voiceman::cuda::GpuProbe probe = voiceman::cuda::probe_gpus();
    if (const voiceman::cuda::GpuInfo* gpu = probe.find(0)) bus_id_ = gpu->pci_bus_id;
    if (nvml_ && !bus_id_.empty()) thread_ = std::thread([this] { run(); });
  }
  ~UtilizationSampler() { stop(); }
  void stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }
  double mean_utilization() const {
    if (samples_.empty()) return -1;
    double sum = 0;
    for (int u : samples_) sum += u;
    return sum / static_cast<double>(samples_.size());
  }
  uint64_t peak_used() const { return peak_used_; }

 private:
  void run() {
    while (!done_) {
      if (auto d = nvml_->device_by_pci(bus_id_)) {
        if (d->utilization >= 0) samples_.push_back(d->utilization);
        peak_used_ = std::max<uint64_t>(peak_used_, d->memory_used);
      }
      for (int i = 0; i < 10 && !done_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::optional<voiceman::cuda::Nvml> nvml_;
  std::string bus_id_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::vector<int> samples_;
  uint64_t peak_used_ = 0;
};

// One benchmark batch: encode, then greedy steps that never stop early. The seconds are
// the calling thread's (its stream synchronised at the end of each part).
struct BenchBatch {
  double encode_s = 0, decode_s = 0;
  double argmax_s = 0;  // of decode_s: the host's argmax between steps, the GPU idle
  int64_t recorded = 0, replays = 0;
};

BenchBatch bench_batch(const WhisperModel& model, const ExecContext& ctx, const Tensor& features,
                       int tokens) {
  const int batch = static_cast<int>(features.dim(0));
  const int64_t vocab = model.config().vocab_size;
  // Prompt: <|startoftranscript|><|en|><|transcribe|><|notimestamps|> (large-v3 ids).
  const std::vector<std::vector<int32_t>> prompts(batch, {50258, 50259, 50360, 50364});
  std::vector<int32_t> source(batch), no_sot(batch, -1);
  for (int i = 0; i < batch; ++i) source[i] = i;
  BenchBatch out;
  const auto t0 = std::chrono::steady_clock::now();
  const Tensor encoded = model.encode(ctx, features);
  voiceman::cuda::synchronize(ctx);
  const auto t1 = std::chrono::steady_clock::now();
  auto session = model.start_decoder(ctx, encoded);
  std::vector<float> first, unused;
  session->start(prompts, source, no_sot, first, unused);
  // A step's logits stay readable in the decoder until the next step: no copy. The
  // argmax is the search's own (vectorised), as a greedy `voiceman run` takes it.
  std::span<const float> logits = first;
  std::vector<int32_t> next(batch);
  for (int step = 1; step < tokens; ++step) {
    const auto a0 = std::chrono::steady_clock::now();
    for (int r = 0; r < batch; ++r)
      next[r] = static_cast<int32_t>(
          decoding::argmax_index(logits.subspan(static_cast<size_t>(r) * vocab, vocab)));
    out.argmax_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - a0).count();
    logits = session->step(next);
  }
  const auto t2 = std::chrono::steady_clock::now();
  out.encode_s = std::chrono::duration<double>(t1 - t0).count();
  out.decode_s = std::chrono::duration<double>(t2 - t1).count();
  out.recorded = session->step_graphs().recorded();
  out.replays = session->step_graphs().replays();
  return out;
}

struct BenchSettings {
  std::string arch = "large-v3", type_name = "float16";
  int batch = 16, tokens = 64, batches = 3;
};

BenchSettings bench_settings() {
  BenchSettings b;
  if (const char* v = std::getenv("VOICEMAN_BENCH_ARCH")) b.arch = v;
  if (const char* v = std::getenv("VOICEMAN_BENCH_COMPUTE")) b.type_name = v;
  b.batch = env_int("VOICEMAN_BENCH_BATCH", b.batch);
  b.tokens = env_int("VOICEMAN_BENCH_TOKENS", b.tokens);
  b.batches = env_int("VOICEMAN_BENCH_BATCHES", b.batches);
  return b;
}

TEST_F(GpuWhisper, Throughput) {
  if (!std::getenv("VOICEMAN_BENCH")) GTEST_SKIP() << "set VOICEMAN_BENCH=1 (gpu-check.sh does)";
  const BenchSettings b = bench_settings();
  // VOICEMAN_BENCH_GRAPHS: 0 (steps launched one kernel at a time), 1 (steps replayed as
  // CUDA graphs) or both (one model, both measured, one after the other).
  const std::string graphs_env =
      std::getenv("VOICEMAN_BENCH_GRAPHS") ? std::getenv("VOICEMAN_BENCH_GRAPHS") : "0";
  std::vector<bool> modes;
  if (graphs_env == "0" || graphs_env == "both") modes.push_back(false);
  if (graphs_env == "1" || graphs_env == "both") modes.push_back(true);
  ASSERT_FALSE(modes.empty()) << "VOICEMAN_BENCH_GRAPHS must be 0, 1 or both";
  const WhisperConfig c = bench_config(b.arch);
  // An owned stream, as voiceman run's engines have (graphs need one).
  voiceman::cuda::Stream stream(Device::cuda(0));
  ExecContext ctx = context(Device::cuda(0));
  ctx.stream = stream.get();
  // VOICEMAN_BENCH_INT8_CROSS=1: the decoder's cross keys and values as int8.
  const char* int8_env = std::getenv("VOICEMAN_BENCH_INT8_CROSS");
  const bool int8_cross = int8_env && std::string(int8_env) == "1";
  const auto model = WhisperModel::random(c, parse_compute_type(b.type_name), ctx.device, 1,
                                          {.int8_cross_kv = int8_cross});
  const Tensor features = random_features(b.batch, c.n_mels, 3);

  for (const bool graphs : modes) {
    ctx.cuda_graphs = graphs;
    bench_batch(*model, ctx, features, b.tokens);  // warm-up: cuBLAS plans, pool growth
    voiceman::cuda::reset_peak(ctx.device);
    UtilizationSampler sampler;
    BenchBatch sum;
    for (int i = 0; i < b.batches; ++i) {
      const BenchBatch one = bench_batch(*model, ctx, features, b.tokens);
      sum.encode_s += one.encode_s;
      sum.decode_s += one.decode_s;
      sum.argmax_s += one.argmax_s;
      sum.recorded += one.recorded;
      sum.replays += one.replays;
    }
    sampler.stop();
    if (graphs) {
      EXPECT_GT(sum.replays, 0) << "graphs were asked for but never replayed";
    }
    const double audio = 30.0 * b.batch * b.batches;
    const auto stats = voiceman::cuda::memory_stats(ctx.device);
    std::printf(
        "[bench] engine=voiceman arch=%s compute=%s graphs=%d int8_cross_kv=%d batch=%d "
        "tokens=%d batches=%d encode_s=%.3f decode_s=%.3f host_argmax_s=%.3f audio_s_per_s=%.1f "
        "pool_peak_mib=%.0f device_peak_used_mib=%.0f gpu_util_mean=%.0f graphs_recorded=%lld "
        "replays=%lld\n",
        b.arch.c_str(), b.type_name.c_str(), graphs ? 1 : 0, int8_cross ? 1 : 0, b.batch, b.tokens,
        b.batches, sum.encode_s, sum.decode_s, sum.argmax_s, audio / (sum.encode_s + sum.decode_s),
        static_cast<double>(stats.peak) / 1048576.0,
        static_cast<double>(sampler.peak_used()) / 1048576.0, sampler.mean_utilization(),
        static_cast<long long>(sum.recorded), static_cast<long long>(sum.replays));
  }
}

// The same batches on VOICEMAN_BENCH_ENGINES engines (default 2) that share one model,
// each on its own thread and stream, as `voiceman run --engines-per-device` runs them:
// one engine's encoder and host work overlap another's decoder steps. Audio seconds per
// wall-clock second over all engines' batches.
TEST_F(GpuWhisper, ThroughputOfEnginesSharingAGpu) {
  if (!std::getenv("VOICEMAN_BENCH")) GTEST_SKIP() << "set VOICEMAN_BENCH=1 (gpu-check.sh does)";
  const BenchSettings b = bench_settings();
  const int engines = env_int("VOICEMAN_BENCH_ENGINES", 2);
  ASSERT_GE(engines, 1);
  const WhisperConfig c = bench_config(b.arch);
  const auto model = WhisperModel::random(c, parse_compute_type(b.type_name), Device::cuda(0));
  const Tensor features = random_features(b.batch, c.n_mels, 3);
  std::vector<std::unique_ptr<voiceman::cuda::Stream>> streams;
  std::vector<ExecContext> contexts;
  for (int e = 0; e < engines; ++e) {
    streams.push_back(std::make_unique<voiceman::cuda::Stream>(Device::cuda(0)));
    contexts.push_back(context(Device::cuda(0)));
    contexts.back().stream = streams.back()->get();
  }
  auto on_every_engine = [&](int rounds) {
    std::vector<std::thread> threads;
    threads.reserve(engines);
    for (int e = 0; e < engines; ++e)
      threads.emplace_back([&, e] {
        for (int i = 0; i < rounds; ++i) bench_batch(*model, contexts[e], features, b.tokens);
      });
    for (auto& t : threads) t.join();
  };
  on_every_engine(1);  // warm-up: each engine's cuBLAS plans and pool blocks
  voiceman::cuda::reset_peak(Device::cuda(0));
  UtilizationSampler sampler;
  const auto start = std::chrono::steady_clock::now();
  on_every_engine(b.batches);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sampler.stop();
  const double audio = 30.0 * b.batch * b.batches * engines;
  const auto stats = voiceman::cuda::memory_stats(Device::cuda(0));
  std::printf(
      "[bench] engine=voiceman arch=%s compute=%s engines=%d batch=%d tokens=%d batches=%d "
      "wall_s=%.3f audio_s_per_s=%.1f pool_peak_mib=%.0f device_peak_used_mib=%.0f "
      "gpu_util_mean=%.0f\n",
      b.arch.c_str(), b.type_name.c_str(), engines, b.batch, b.tokens, b.batches, wall,
      audio / wall, static_cast<double>(stats.peak) / 1048576.0,
      static_cast<double>(sampler.peak_used()) / 1048576.0, sampler.mean_utilization());
  EXPECT_GT(wall, 0);
}

}  // namespace
}  // namespace voiceman::models
