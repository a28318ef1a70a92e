#include "voiceman/engine/models/pyannote_segmentation.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/engine/models/torch_checkpoint.h"

namespace voiceman::models {

namespace {

constexpr int kSincFilters = 80, kSincKernel = 251;
constexpr float kMinLowHz = 50.f, kMinBandHz = 50.f, kNormEps = 1e-5f;

// SincNet's layers as (kernel, stride) pairs, for frame counts and receptive fields.
std::vector<std::pair<int, int>> sincnet_layers(int stride) {
  return {{kSincKernel, stride}, {3, 3}, {5, 1}, {3, 3}, {5, 1}, {3, 3}};
}

// asteroid's ParamSincFB.filters(): 40 even (cos) then 40 odd (sin) band-pass filters from
// the learned low/band frequencies, with the checkpoint's half window and time axis. Float32
// arithmetic, as torch computes them.
Tensor sinc_filters(const Tensor& low_hz, const Tensor& band_hz, const Tensor& window,
                    const Tensor& n) {
  const int64_t half = low_hz.dim(0), k = window.numel();
  Tensor out({2 * half, 1, 2 * k + 1});
  for (int64_t f = 0; f < half; ++f) {
    const float low = kMinLowHz + std::fabs(low_hz.data<float>()[f]);
    const float high =
        std::clamp(low + kMinBandHz + std::fabs(band_hz.data<float>()[f]), kMinLowHz, 8000.f);
    const float band = high - low;
    float* cos_row = out.data<float>() + f * (2 * k + 1);
    float* sin_row = out.data<float>() + (half + f) * (2 * k + 1);
    for (int64_t j = 0; j < k; ++j) {
      const float nj = n.data<float>()[j], wj = window.data<float>()[j];
      const float ft_low = low * nj, ft_high = high * nj;
      const float c = (std::sin(ft_high) - std::sin(ft_low)) / (nj / 2) * wj;
      const float s = (std::cos(ft_low) - std::cos(ft_high)) / (nj / 2) * wj;
      cos_row[j] = c / (2 * band);
      cos_row[2 * k - j] = c / (2 * band);
      sin_row[j] = s / (2 * band);
      sin_row[2 * k - j] = -s / (2 * band);
    }
    cos_row[k] = 2 * band / (2 * band);
    sin_row[k] = 0.f;
  }
  return out;
}

int64_t binomial(int n, int k) {
  int64_t r = 1;
  for (int i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return r;
}

Tensor sum_of(const Tensor& a, const Tensor& b) {
  Tensor out = a.clone();
  for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] += b.data<float>()[i];
  return out;
}

}  // namespace

std::shared_ptr<const PyannoteSegmentation> PyannoteSegmentation::load(
    const std::filesystem::path& checkpoint, Device device, bool bf16_lstm) {
  const TorchCheckpoint ck = TorchCheckpoint::load(checkpoint);
  const std::string file = checkpoint.string();
  if (!ck.has("sincnet.conv1d.0.filterbank.low_hz_") || !ck.has("classifier.weight"))
    throw ModelError(file + ": not a pyannote PyanNet segmentation checkpoint");
  if (ck.int_value("hyper_parameters.sample_rate").value_or(16000) != 16000)
    throw ModelError(file + ": only 16 kHz segmentation models are supported");
  std::shared_ptr<PyannoteSegmentation> m(new PyannoteSegmentation());
  m->device_ = device;
  m->stride_ = static_cast<int>(ck.int_value("hyper_parameters.sincnet.stride").value_or(10));
  auto dev = [&](const std::string& name, const Shape& shape = {}) {
    return ck.tensor(name, shape).to(device);
  };

  // SincNet.
  m->wav_norm_ = {dev("sincnet.wav_norm1d.weight", {1}), dev("sincnet.wav_norm1d.bias", {1})};
  m->wav_gamma_ = ck.tensor("sincnet.wav_norm1d.weight", {1}).data<float>()[0];
  m->wav_beta_ = ck.tensor("sincnet.wav_norm1d.bias", {1}).data<float>()[0];
  const Tensor& low = ck.tensor("sincnet.conv1d.0.filterbank.low_hz_", {kSincFilters / 2, 1});
  const Tensor& band = ck.tensor("sincnet.conv1d.0.filterbank.band_hz_", {kSincFilters / 2, 1});
  const Tensor& window = ck.tensor("sincnet.conv1d.0.filterbank.window_", {kSincKernel / 2});
  const Tensor& n = ck.tensor("sincnet.conv1d.0.filterbank.n_", {1, kSincKernel / 2});
  const Tensor filters = sinc_filters(low, band, window, n);
  m->sinc_sums_.assign(kSincFilters, 0.0);
  for (int f = 0; f < kSincFilters; ++f)
    for (int k = 0; k < filters.dim(2); ++k)
      m->sinc_sums_[f] += filters.data<float>()[f * filters.dim(2) + k];
  m->sinc_filters_ = filters.to(device);
  m->sinc_bias_ = Tensor::zeros({kSincFilters}, DType::f32, device);
  m->conv_w_[0] = dev("sincnet.conv1d.1.weight", {60, 80, 5});
  m->conv_b_[0] = dev("sincnet.conv1d.1.bias", {60});
  m->conv_w_[1] = dev("sincnet.conv1d.2.weight", {60, 60, 5});
  m->conv_b_[1] = dev("sincnet.conv1d.2.bias", {60});
  for (int i = 0; i < 3; ++i) {
    const std::string p = "sincnet.norm1d." + std::to_string(i);
    m->norms_[i] = {dev(p + ".weight"), dev(p + ".bias")};
  }

  // LSTMs: one multi-layer module ("lstm.weight_ih_l0") or one module per layer
  // ("lstm.0.weight_ih_l0"), each direction "_reverse" when bidirectional.
  const bool monolithic = ck.has("lstm.weight_ih_l0");
  for (int l = 0;; ++l) {
    const std::string base = monolithic ? "lstm." : "lstm." + std::to_string(l) + ".";
    const std::string layer = monolithic ? std::to_string(l) : "0";
    if (!ck.has(base + "weight_ih_l" + layer)) break;
    std::vector<ops::LstmWeights> dirs;
    for (const std::string suffix : {"", "_reverse"}) {
      const std::string s = "_l" + layer + suffix;
      if (!ck.has(base + "weight_ih" + s)) continue;
      ops::LstmWeights w;
      w.w_ih = dev(base + "weight_ih" + s);
      w.w_hh = dev(base + "weight_hh" + s);
      w.bias = sum_of(ck.tensor(base + "bias_ih" + s), ck.tensor(base + "bias_hh" + s)).to(device);
      dirs.push_back(std::move(w));
    }
    m->lstm_.push_back(std::move(dirs));
  }
  if (m->lstm_.empty()) throw ModelError(file + ": no LSTM layers");
  if (bf16_lstm)
    for (auto& dirs : m->lstm_) ops::lstm_weights_to_bf16(dirs, device, file, false);
  for (int l = 0; ck.has("linear." + std::to_string(l) + ".weight"); ++l) {
    const std::string p = "linear." + std::to_string(l);
    m->linear_.push_back({dev(p + ".weight"), Tensor(), dev(p + ".bias")});
  }
  m->classifier_ = {dev("classifier.weight"), Tensor(), dev("classifier.bias")};
  m->num_classes_ = static_cast<int>(m->classifier_.out_features());

  // Output kind, from the task specifications the checkpoint carries.
  const auto specs = ck.find("pyannote.audio.specifications");
  const auto classes = specs ? specs->get("classes") : nullptr;
  const int num_labels = classes && classes->kind == PickleValue::Kind::list
                             ? static_cast<int>(classes->items.size())
                             : m->num_classes_;
  const auto max_set = ck.int_value("pyannote.audio.specifications.powerset_max_classes");
  m->powerset_ = max_set.has_value() && *max_set > 0;
  m->num_speakers_ = num_labels;
  if (m->powerset_) {
    int64_t total = 0;
    for (int k = 0; k <= *max_set; ++k) total += binomial(num_labels, k);
    if (total != m->num_classes_)
      throw ModelError(file + ": powerset of " + std::to_string(num_labels) + " speakers (max " +
                       std::to_string(*max_set) + ") needs " + std::to_string(total) +
                       " classes, the classifier has " + std::to_string(m->num_classes_));
    // Powerset classes by set size, each size in itertools.combinations order.
    m->mapping_.assign(static_cast<size_t>(total) * num_labels, 0.f);
    int row = 1;  // row 0: the empty set
    std::vector<int> set;
    std::function<void(int, int)> combos = [&](int start, int size) {
      if (static_cast<int>(set.size()) == size) {
        for (int s : set) m->mapping_[static_cast<size_t>(row) * num_labels + s] = 1.f;
        ++row;
        return;
      }
      for (int i = start; i < num_labels; ++i) {
        set.push_back(i);
        combos(i + 1, size);
        set.pop_back();
      }
    };
    for (int size = 1; size <= *max_set; ++size) combos(0, size);
  } else if (num_labels != m->num_classes_) {
    throw ModelError(file + ": classifier has " + std::to_string(m->num_classes_) +
                     " outputs for " + std::to_string(num_labels) + " classes");
  }
  const auto duration = ck.number("pyannote.audio.specifications.duration");
  m->window_s_ = duration.value_or(10.0);
  if (!duration) log::warn(file + ": no training duration in the checkpoint, assuming 10 s");

  // Receptive field (pyannote's multi_conv_receptive_field_* over SincNet's layers).
  const auto layers = sincnet_layers(m->stride_);
  auto rf_size = [&](int64_t frames) {
    for (auto it = layers.rbegin(); it != layers.rend(); ++it)
      frames = it->first + (frames - 1) * it->second;
    return frames;
  };
  int64_t center = 0;
  for (auto it = layers.rbegin(); it != layers.rend(); ++it)
    center = center * it->second + (it->first - 1) / 2;
  m->rf_size_ = static_cast<double>(rf_size(1));
  m->rf_step_ = static_cast<double>(rf_size(2) - rf_size(1));
  m->rf_start_ = static_cast<double>(center) - (m->rf_size_ - 1) / 2;
  log::debug("pyannote segmentation " + file + ": " + std::to_string(m->lstm_.size()) +
             " LSTM layers, " + (m->powerset_ ? "powerset" : "multilabel") + ", " +
             std::to_string(m->num_speakers_) + " speakers");
  return m;
}

int PyannoteSegmentation::num_frames(int64_t num_samples) const {
  int64_t n = num_samples;
  for (const auto& [k, s] : sincnet_layers(stride_)) n = n >= k ? (n - k) / s + 1 : 0;
  return static_cast<int>(n);
}

Tensor PyannoteSegmentation::forward_raw(const ExecContext& ctx, const Tensor& waveforms) const {
  if (waveforms.rank() != 2) throw Error("segmentation: waveforms must be [batch, samples]");
  const int64_t batch = waveforms.dim(0);
  const int frames = num_frames(waveforms.dim(1));
  if (frames < 1)
    throw Error("segmentation: " + std::to_string(waveforms.dim(1)) + " samples is too short");
  if (batch <= kMaxBatch) return forward_chunk(ctx, waveforms);
  return in_chunks(ctx, batch, frames, [&](int64_t first, int64_t n) {
    return forward_chunk(ctx, waveforms.slice_rows(first, first + n));
  });
}

Tensor PyannoteSegmentation::in_chunks(
    const ExecContext& ctx, int64_t count, int frames,
    const std::function<Tensor(int64_t first, int64_t n)>& chunk) const {
  // Bounded memory: SincNet's first activations are ~2.5 MB per 5 s window.
  Tensor out;
  const int64_t row = int64_t{frames} * num_classes_;
  for (int64_t first = 0; first < count; first += kMaxBatch) {
    const int64_t n = std::min(count - first, kMaxBatch);
    const Tensor part = chunk(first, n);
    if (out.empty()) out = Tensor({count, frames, num_classes_}, part.dtype(), ctx.device);
    ops::copy_rows(ctx, part, 0, 0, out, first * row, 0, 1, n * row);
  }
  if (out.empty()) out = Tensor({0, frames, num_classes_}, DType::f32, ctx.device);
  return out;
}

Tensor PyannoteSegmentation::sinc_front(const ExecContext& ctx, const Tensor& waveforms) const {
  const int64_t batch = waveforms.dim(0);
  Tensor x = waveforms.reshape({batch, 1, waveforms.dim(1)}), y, conv;
  ops::instance_norm(ctx, x, wav_norm_.gamma, wav_norm_.beta, kNormEps, y);
  ops::conv1d(ctx, y, sinc_filters_, sinc_bias_, stride_, 0, conv);
  ops::absolute(ctx, conv);
  return conv;
}

Tensor PyannoteSegmentation::sinc_front_sliding(const ExecContext& ctx,
                                                std::span<const float> audio, int64_t step,
                                                int count) const {
  const auto window = static_cast<int64_t>(std::llround(window_s_ * sample_rate()));
  const int64_t span = (count - 1) * step + window, taps = sinc_filters_.dim(2);
  Tensor samples({1, 1, span});  // zero padded past the end, as each window would be
  const int64_t avail = std::min<int64_t>(static_cast<int64_t>(audio.size()), span);
  std::copy_n(audio.begin(), avail, samples.data<float>());
  std::fill(samples.data<float>() + avail, samples.data<float>() + span, 0.f);
  // Per window: mean and biased variance (instance norm's), from prefix sums.
  std::vector<double> sum(span + 1, 0.0), sq(span + 1, 0.0);
  for (int64_t i = 0; i < span; ++i) {
    const double v = samples.data<float>()[i];
    sum[i + 1] = sum[i] + v;
    sq[i + 1] = sq[i] + v * v;
  }
  // The filterbank runs on samples without their overall mean: a DC offset would make the
  // low bands large and the per-window shift below cancel most of them (precision loss).
  const double center = sum[span] / double(span);
  for (int64_t i = 0; i < span; ++i)
    samples.data<float>()[i] = static_cast<float>(samples.data<float>()[i] - center);
  const int64_t filters = sinc_filters_.dim(0);
  Tensor scale({count * filters}), shift({count * filters});
  for (int w = 0; w < count; ++w) {
    const int64_t a = w * step, b = a + window;
    const double mean = (sum[b] - sum[a]) / double(window);
    const double centered_mean = mean - center;
    const double var = std::max(0.0, (sq[b] - sq[a]) / double(window) - mean * mean);
    const double gain = wav_gamma_ / std::sqrt(var + kNormEps);
    // filters(norm(x)) = gain * filters(x - c) + (beta - gain * (mean - c)) * sum(taps)
    // (the filterbank has no bias)
    for (int64_t f = 0; f < filters; ++f) {
      scale.data<float>()[w * filters + f] = static_cast<float>(gain);
      shift.data<float>()[w * filters + f] =
          static_cast<float>((wav_beta_ - gain * centered_mean) * sinc_sums_[f]);
    }
  }
  Tensor full;  // [1, 80, frames of the whole span]
  ops::conv1d(ctx, samples.to(ctx.device), sinc_filters_, sinc_bias_, stride_, 0, full);
  const int64_t total = full.dim(2), frames = (window - taps) / stride_ + 1;
  std::vector<int64_t> src, dst, width(static_cast<size_t>(count * filters), frames);
  for (int w = 0; w < count; ++w)
    for (int64_t f = 0; f < filters; ++f) {
      src.push_back(f * total + w * step / stride_);
      dst.push_back((w * filters + f) * frames);
    }
  Tensor out({count, filters, frames}, full.dtype(), ctx.device);
  ops::copy_runs(ctx, full, src, out, dst, width);
  ops::affine_rows(ctx, out, scale.to(ctx.device), shift.to(ctx.device));
  ops::absolute(ctx, out);
  return out;
}

Tensor PyannoteSegmentation::forward_chunk(const ExecContext& ctx, const Tensor& waveforms) const {
  return forward_from_sinc(ctx, sinc_front(ctx, waveforms));
}

Tensor PyannoteSegmentation::forward_from_sinc(const ExecContext& ctx, const Tensor& sinc) const {
  const int64_t batch = sinc.dim(0);
  Tensor x = sinc;
  for (int c = 0; c < 3; ++c) {
    Tensor conv, pooled, normed;
    if (c == 0)
      conv = x;
    else
      ops::conv1d(ctx, x, conv_w_[c - 1], conv_b_[c - 1], 1, 0, conv);
    ops::max_pool1d(ctx, conv, 3, 3, pooled);
    ops::instance_norm(ctx, pooled, norms_[c].gamma, norms_[c].beta, kNormEps, normed);
    ops::leaky_relu(ctx, normed);
    x = normed;
  }
  Tensor seq;  // [B, frames, 60]
  ops::transpose_last2(ctx, x, seq);
  const int64_t frames = seq.dim(1);
  for (const auto& dirs : lstm_) {
    const int64_t hidden = dirs[0].hidden(), width = hidden * static_cast<int64_t>(dirs.size());
    Tensor out({batch, frames, width}, seq.dtype(), ctx.device);
    for (size_t d = 0; d < dirs.size(); ++d) {
      Tensor part;
      ops::lstm(ctx, seq, dirs[d], d == 1, part);
      // Forward half in the first `hidden` features, backward half after it.
      ops::copy_rows(ctx, part, 0, hidden, out, static_cast<int64_t>(d) * hidden, width,
                     batch * frames, hidden);
    }
    seq = out;
  }
  Tensor h = seq.reshape({batch * frames, seq.dim(2)});
  for (const ops::LinearWeight& w : linear_) {
    Tensor o;
    ops::linear(ctx, h, w, o);
    ops::leaky_relu(ctx, o);
    h = o;
  }
  Tensor scores;
  ops::linear(ctx, h, classifier_, scores);
  if (powerset_)
    ops::softmax(ctx, scores, /*log=*/true);
  else
    ops::sigmoid(ctx, scores);
  return scores.reshape({batch, frames, num_classes_});
}

Tensor PyannoteSegmentation::forward(const ExecContext& ctx, const Tensor& waveforms) const {
  return to_speakers(ctx, forward_raw(ctx, waveforms));
}

Tensor PyannoteSegmentation::forward_sliding(const ExecContext& ctx, std::span<const float> audio,
                                             int64_t step, int count) const {
  if (step <= 0 || count < 0) throw Error("segmentation: sliding windows need a positive step");
  const auto window = static_cast<int64_t>(std::llround(window_s_ * sample_rate()));
  const Tensor raw = in_chunks(ctx, count, num_frames(window), [&](int64_t first, int64_t n) {
    const int64_t start = first * step;
    const std::span<const float> rest = start < static_cast<int64_t>(audio.size())
                                            ? audio.subspan(start)
                                            : std::span<const float>{};
    if (step % stride_ == 0)
      return forward_from_sinc(ctx, sinc_front_sliding(ctx, rest, step, static_cast<int>(n)));
    Tensor batch({n, window});  // windows one by one
    std::fill(batch.data<float>(), batch.data<float>() + n * window, 0.f);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t a = std::min<int64_t>(i * step, rest.size());
      const int64_t len = std::min<int64_t>(window, rest.size() - a);
      std::copy_n(rest.begin() + a, len, batch.data<float>() + i * window);
    }
    return forward_chunk(ctx, batch.to(ctx.device));
  });
  return to_speakers(ctx, raw);
}

Tensor PyannoteSegmentation::to_speakers(const ExecContext& ctx, Tensor raw) const {
  if (!powerset_) return raw;
  // Hard powerset -> multilabel on the host: a few values per frame.
  const Tensor host = raw.to(Device::cpu());
  const int64_t rows = host.dim(0) * host.dim(1);
  Tensor out({host.dim(0), host.dim(1), num_speakers_});
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = host.data<float>() + r * num_classes_;
    int best = 0;
    for (int k = 1; k < num_classes_; ++k)
      if (p[k] > p[best]) best = k;  // first maximum, as torch.argmax
    for (int s = 0; s < num_speakers_; ++s)
      out.data<float>()[r * num_speakers_ + s] =
          mapping_[static_cast<size_t>(best) * num_speakers_ + s];
  }
  return out.to(ctx.device);
}

}  // namespace voiceman::models
