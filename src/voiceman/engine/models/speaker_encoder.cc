#include "voiceman/engine/models/speaker_encoder.h"

#include <cmath>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/engine/models/torch_checkpoint.h"

namespace voiceman::models {

namespace {

constexpr int kHidden = 256, kLayers = 3, kMels = features::SpeakerMel::kMels;
constexpr int kHop = features::SpeakerMel::kHop;

// Sum of two bias vectors (the lstm op takes b_ih + b_hh).
Tensor add_bias(const Tensor& a, const Tensor& b) {
  Tensor out = a.clone();
  for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] += b.data<float>()[i];
  return out;
}

}  // namespace

std::shared_ptr<const SpeakerEncoder> SpeakerEncoder::load(const std::filesystem::path& checkpoint,
                                                           Device device, bool bf16_lstm) {
  const TorchCheckpoint ck = TorchCheckpoint::load(checkpoint);
  // WeSpeaker ResNet: pyannote.audio names its tensors "resnet.*", WeSpeaker itself not.
  for (const std::string prefix : {"resnet.", ""})
    if (ck.has(prefix + "layer1.0.conv1.weight") && ck.has(prefix + "seg_1.weight")) {
      std::shared_ptr<SpeakerEncoder> enc(new SpeakerEncoder());
      enc->device_ = device;
      enc->resnet_ = std::make_shared<const WeSpeakerResNet>(ck, prefix, device);
      enc->dim_ = enc->resnet_->dim();
      log::debug("speaker encoder (WeSpeaker ResNet34) loaded from " + checkpoint.string());
      return enc;
    }
  if (!ck.has("lstm.weight_ih_l0") || !ck.has("linear.weight"))
    throw ModelError(checkpoint.string() + ": not a speaker encoder checkpoint (no lstm/linear)");
  std::shared_ptr<SpeakerEncoder> enc(new SpeakerEncoder());
  enc->device_ = device;
  for (int l = 0; l < kLayers; ++l) {
    const std::string s = std::to_string(l);
    const int64_t in = l == 0 ? kMels : kHidden;
    ops::LstmWeights w;
    w.w_ih = ck.tensor("lstm.weight_ih_l" + s, {4 * kHidden, in}).to(device);
    w.w_hh = ck.tensor("lstm.weight_hh_l" + s, {4 * kHidden, kHidden}).to(device);
    w.bias = add_bias(ck.tensor("lstm.bias_ih_l" + s, {4 * kHidden}),
                      ck.tensor("lstm.bias_hh_l" + s, {4 * kHidden}))
                 .to(device);
    enc->lstm_.push_back(std::move(w));
  }
  if (bf16_lstm) ops::lstm_weights_to_bf16(enc->lstm_, device, checkpoint.string());
  enc->linear_.weight = ck.tensor("linear.weight", {kHidden, kHidden}).to(device);
  enc->linear_.bias = ck.tensor("linear.bias", {kHidden}).to(device);
  log::debug("speaker encoder (GE2E) loaded from " + checkpoint.string());
  return enc;
}

std::vector<int> SpeakerEncoder::partial_starts(size_t samples) {
  // compute_partial_slices(n, rate=1.3, min_coverage=0.75)
  const int n_frames = static_cast<int>((samples + 1 + kHop - 1) / kHop);  // ceil((n + 1) / hop)
  const int step = static_cast<int>(std::lround(16000.0 / 1.3 / kHop));    // 77
  const int steps = std::max(1, n_frames - kPartialFrames + step + 1);
  std::vector<int> starts;
  for (int i = 0; i < steps; i += step) starts.push_back(i);
  const double start = double(starts.back()) * kHop, stop = start + kPartialFrames * kHop;
  const double coverage = (double(samples) - start) / (stop - start);
  if (coverage < 0.75 && starts.size() > 1) starts.pop_back();
  return starts;
}

std::vector<float> SpeakerEncoder::normalize_volume(std::span<const float> audio) {
  std::vector<float> out(audio.begin(), audio.end());
  if (audio.empty()) return out;
  constexpr double kInt16Max = 32767.0;
  double sq = 0;
  for (float v : audio) sq += (v * kInt16Max) * (v * kInt16Max);
  const double rms = std::sqrt(sq / audio.size());
  if (rms == 0) return out;  // silence: resemblyzer would produce NaNs
  const double change = -30.0 - 20.0 * std::log10(rms / kInt16Max);
  if (change < 0) return out;  // increase_only
  const float gain = static_cast<float>(std::pow(10.0, change / 20.0));
  for (float& v : out) v *= gain;
  return out;
}

Tensor SpeakerEncoder::forward_partials(const ExecContext& ctx, const Tensor& mels) const {
  Tensor x = mels, y, h, c;
  for (const ops::LstmWeights& w : lstm_) {
    h = Tensor();
    c = Tensor();
    ops::lstm(ctx, x, w, false, y, &h, &c);
    x = y;
    y = Tensor();
  }
  // The last layer's final hidden state -> linear -> ReLU -> L2 norm.
  Tensor e;
  ops::linear(ctx, h, linear_, e);
  ops::relu(ctx, e);
  Tensor out = e.to(Device::cpu());
  for (int64_t p = 0; p < out.dim(0); ++p) {
    float* row = out.data<float>() + p * kHidden;
    double n = 0;
    for (int j = 0; j < kHidden; ++j) n += double(row[j]) * row[j];
    const float inv = n > 0 ? static_cast<float>(1.0 / std::sqrt(n)) : 0.f;
    for (int j = 0; j < kHidden; ++j) row[j] *= inv;
  }
  return out;
}

std::vector<float> SpeakerEncoder::embed(const ExecContext& ctx,
                                         std::span<const float> audio) const {
  return embed_batch(ctx, {audio}).front();
}

std::vector<std::vector<float>> SpeakerEncoder::embed_batch(
    const ExecContext& ctx, const std::vector<std::span<const float>>& audios) const {
  if (resnet_) {
    std::vector<std::vector<float>> out;
    for (const auto& a : audios) {
      std::vector<float> e = resnet_->embed(ctx, a);
      double n = 0;
      for (float v : e) n += double(v) * v;
      const float inv = n > 0 ? static_cast<float>(1.0 / std::sqrt(n)) : 0.f;
      for (float& v : e) v *= inv;
      out.push_back(std::move(e));
    }
    return out;
  }
  std::vector<std::vector<float>> result(audios.size(), std::vector<float>(kHidden, 0.f));
  // Every clip's partial mel windows, stacked into one batch.
  std::vector<float> stacked;
  std::vector<int> owner;
  for (size_t a = 0; a < audios.size(); ++a) {
    if (audios[a].empty()) continue;
    std::vector<float> wav = normalize_volume(audios[a]);
    const std::vector<int> starts = partial_starts(wav.size());
    const size_t needed = size_t(starts.back() + kPartialFrames) * kHop;
    if (needed >= wav.size()) wav.resize(needed, 0.f);  // zero-pad to the last partial
    const std::vector<float> mel = mel_.compute(wav);
    for (int s : starts) {
      stacked.insert(stacked.end(), mel.begin() + size_t(s) * kMels,
                     mel.begin() + size_t(s + kPartialFrames) * kMels);
      owner.push_back(static_cast<int>(a));
    }
  }
  if (owner.empty()) return result;
  const int64_t partials = static_cast<int64_t>(owner.size());
  const Tensor mels =
      Tensor::from_vector(stacked, {partials, kPartialFrames, kMels}).to(ctx.device);
  const Tensor emb = forward_partials(ctx, mels);
  // Mean of the partial embeddings, then L2 norm.
  std::vector<std::vector<double>> sums(audios.size(), std::vector<double>(kHidden, 0.0));
  std::vector<int> counts(audios.size(), 0);
  for (int64_t p = 0; p < partials; ++p) {
    const float* row = emb.data<float>() + p * kHidden;
    for (int j = 0; j < kHidden; ++j) sums[owner[p]][j] += row[j];
    ++counts[owner[p]];
  }
  for (size_t a = 0; a < audios.size(); ++a) {
    if (!counts[a]) continue;
    double n = 0;
    for (int j = 0; j < kHidden; ++j) n += (sums[a][j] / counts[a]) * (sums[a][j] / counts[a]);
    const double inv = n > 0 ? 1.0 / std::sqrt(n) : 0.0;
    for (int j = 0; j < kHidden; ++j)
      result[a][j] = static_cast<float>(sums[a][j] / counts[a] * inv);
  }
  return result;
}

}  // namespace voiceman::models
