#include "voiceman/engine/models/wespeaker_resnet.h"

#include <cmath>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/torch_checkpoint.h"
#include "voiceman/engine/ops/ops.h"

namespace voiceman::models {

namespace {

constexpr float kBatchNormEps = 1e-5f;

}  // namespace

WeSpeakerResNet::WeSpeakerResNet(const TorchCheckpoint& ck, const std::string& prefix,
                                 Device device)
    : fbank_(static_cast<int>(ck.int_value("hyper_parameters.num_mel_bins").value_or(80))) {
  const std::string file = ck.path().string();
  const auto window = ck.string_value("hyper_parameters.window_type");
  if ((window && *window != "hamming") ||
      ck.int_value("hyper_parameters.frame_length").value_or(25) != 25 ||
      ck.int_value("hyper_parameters.frame_shift").value_or(10) != 10 ||
      ck.number("hyper_parameters.fbank_centering_span").has_value() ||
      ck.number("hyper_parameters.dither").value_or(0.0) != 0.0)
    throw ModelError(file + ": WeSpeaker fbank options other than the defaults are not supported");
  // conv (no bias) followed by BatchNorm2d -> one conv with bias.
  auto conv = [&](const std::string& conv_name, const std::string& bn, int stride, int padding) {
    const Tensor& w = ck.tensor(prefix + conv_name + ".weight");
    const Tensor& gamma = ck.tensor(prefix + bn + ".weight");
    const Tensor& beta = ck.tensor(prefix + bn + ".bias");
    const Tensor& mean = ck.tensor(prefix + bn + ".running_mean");
    const Tensor& var = ck.tensor(prefix + bn + ".running_var");
    const int64_t cout = w.dim(0), per = w.numel() / cout;
    if (w.rank() != 4 || gamma.numel() != cout)
      throw ModelError(file + ": " + prefix + conv_name + " does not fit its batch norm");
    Conv c;
    c.weight = w.clone();
    c.bias = Tensor({cout});
    for (int64_t o = 0; o < cout; ++o) {
      const float scale = gamma.data<float>()[o] / std::sqrt(var.data<float>()[o] + kBatchNormEps);
      for (int64_t i = 0; i < per; ++i) c.weight.data<float>()[o * per + i] *= scale;
      c.bias.data<float>()[o] = beta.data<float>()[o] - mean.data<float>()[o] * scale;
    }
    c.weight = c.weight.to(device);
    c.bias = c.bias.to(device);
    c.stride = stride;
    c.padding = padding;
    return c;
  };
  stem_ = conv("conv1", "bn1", 1, 1);
  const int layers[4] = {3, 4, 6, 3};
  for (int l = 0; l < 4; ++l)
    for (int b = 0; b < layers[l]; ++b) {
      const std::string p = "layer" + std::to_string(l + 1) + "." + std::to_string(b) + ".";
      const int stride = (l > 0 && b == 0) ? 2 : 1;
      Block blk;
      blk.conv1 = conv(p + "conv1", p + "bn1", stride, 1);
      blk.conv2 = conv(p + "conv2", p + "bn2", 1, 1);
      if (ck.has(prefix + p + "shortcut.0.weight"))
        blk.shortcut = conv(p + "shortcut.0", p + "shortcut.1", stride, 0);
      blocks_.push_back(std::move(blk));
    }
  if (ck.has(prefix + "seg_2.weight"))
    throw ModelError(file + ": two-layer WeSpeaker embeddings are not supported");
  embed_w_ = ck.tensor(prefix + "seg_1.weight").to(device);
  embed_b_ = ck.tensor(prefix + "seg_1.bias").to(device);
}

std::vector<float> WeSpeakerResNet::embed(const ExecContext& ctx,
                                          std::span<const float> audio) const {
  const int frames = features::KaldiFbank::num_frames(audio.size());
  std::vector<float> result(static_cast<size_t>(dim()), 0.f);
  if (frames < 1) return result;
  std::vector<float> scaled(audio.begin(), audio.end());
  for (float& v : scaled) v *= 32768.f;  // WeSpeaker works on int16-scaled samples
  std::vector<float> fb = fbank_.compute(scaled);
  const int bins = fbank_.num_mel_bins();
  // Centre every band over time, then lay out as an image [1, 1, bins, frames].
  Tensor img({1, 1, bins, frames});
  for (int b = 0; b < bins; ++b) {
    double mean = 0;
    for (int t = 0; t < frames; ++t) mean += fb[static_cast<size_t>(t) * bins + b];
    mean /= frames;
    for (int t = 0; t < frames; ++t)
      img.data<float>()[b * frames + t] =
          fb[static_cast<size_t>(t) * bins + b] - static_cast<float>(mean);
  }
  auto run = [&](const Conv& c, const Tensor& x, Tensor& y) {
    ops::conv2d(ctx, x, c.weight, c.bias, c.stride, c.padding, y);
  };
  Tensor x = img.to(ctx.device), y;
  run(stem_, x, y);
  ops::relu(ctx, y);
  x = y;
  for (const Block& blk : blocks_) {
    Tensor h, out, skip;
    run(blk.conv1, x, h);
    ops::relu(ctx, h);
    run(blk.conv2, h, out);
    if (blk.shortcut.weight.empty()) {
      ops::add(ctx, out, x);
    } else {
      run(blk.shortcut, x, skip);
      ops::add(ctx, out, skip);
    }
    ops::relu(ctx, out);
    x = out;
  }
  // Statistics pooling over time of [C * H] features (small: done on the host).
  const Tensor feat = x.to(Device::cpu());
  const int64_t rows = feat.dim(1) * feat.dim(2), t = feat.dim(3);
  if (t < 2) return result;  // the unbiased std needs two frames
  Tensor stats({1, 2 * rows});
  for (int64_t r = 0; r < rows; ++r) {
    const float* v = feat.data<float>() + r * t;
    double mean = 0, sq = 0;
    for (int64_t i = 0; i < t; ++i) mean += v[i];
    mean /= t;
    for (int64_t i = 0; i < t; ++i) sq += (v[i] - mean) * (v[i] - mean);
    stats.data<float>()[r] = static_cast<float>(mean);
    stats.data<float>()[rows + r] = static_cast<float>(std::sqrt(sq / (t - 1)));
  }
  if (embed_w_.dim(1) != 2 * rows)
    throw Error("wespeaker: pooled statistics " + std::to_string(2 * rows) + " do not fit seg_1 " +
                shape_str(embed_w_.shape()));
  Tensor e;
  ops::linear(ctx, stats.to(ctx.device), {embed_w_, Tensor(), embed_b_}, e);
  const Tensor host = e.to(Device::cpu());
  result.assign(host.data<float>(), host.data<float>() + dim());
  return result;
}

}  // namespace voiceman::models
