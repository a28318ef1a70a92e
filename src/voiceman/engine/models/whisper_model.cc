#include "voiceman/engine/models/whisper_model.h"

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/engine/models/model_file.h"
#include "voiceman/engine/models/whisper_decoder.h"
#include "voiceman/engine/primitives/cpu_primitives.h"

namespace voiceman::models {
namespace {

class WeightLoader {
 public:
  WeightLoader(const ModelFile& file, ComputeType type, int64_t d) : file_(file), type_(type), d_(d) {}

  Tensor vec(const std::string& name, int64_t n) const { return file_.to_float(name, {n}); }

  layers::LayerNorm norm(const std::string& prefix) const {
    return {vec(prefix + "/gamma", d_), vec(prefix + "/beta", d_)};
  }

  ops::LinearWeight linear(const std::string& prefix, int64_t out, int64_t in, bool quantize) const {
    ops::LinearWeight w;
    Tensor weight = file_.to_float(prefix + "/weight", {out, in});
    if (file_.has(prefix + "/bias")) w.bias = vec(prefix + "/bias", out);
    if (quantize && type_ == ComputeType::int8) {
      w.weight = Tensor({out, in}, DType::i8);
      w.scales = Tensor({out}, DType::f32);
      primitives::cpu::quantize_rows(weight.data<float>(), static_cast<int>(out),
                                     static_cast<int>(in), w.weight.data<int8_t>(),
                                     w.scales.data<float>());
    } else {
      w.weight = std::move(weight);
    }
    return w;
  }

  layers::FeedForward ffn(const std::string& prefix) const {
    const int64_t hidden = file_.info(prefix + "/linear_0/weight").shape.at(0);
    return {norm(prefix + "/layer_norm"), linear(prefix + "/linear_0", hidden, d_, true),
            linear(prefix + "/linear_1", d_, hidden, true)};
  }

  layers::SelfAttention self_attention(const std::string& prefix, int heads) const {
    return {norm(prefix + "/layer_norm"), linear(prefix + "/linear_0", 3 * d_, d_, true),
            linear(prefix + "/linear_1", d_, d_, true), heads};
  }

  layers::CrossAttention cross_attention(const std::string& prefix, int heads) const {
    return {norm(prefix + "/layer_norm"), linear(prefix + "/linear_0", d_, d_, true),
            linear(prefix + "/linear_1", 2 * d_, d_, true), linear(prefix + "/linear_2", d_, d_, true),
            heads};
  }

 private:
  const ModelFile& file_;
  ComputeType type_;
  int64_t d_;
};

}  // namespace

ComputeType parse_compute_type(const std::string& name) {
  if (name == "float32" || name == "float") return ComputeType::float32;
  if (name == "int8") return ComputeType::int8;
  throw ConfigError("unknown compute type '" + name + "' (use float32 or int8)");
}

std::string compute_type_name(ComputeType type) {
  return type == ComputeType::int8 ? "int8" : "float32";
}

std::shared_ptr<const WhisperModel> WhisperModel::load(const std::filesystem::path& dir,
                                                       ComputeType compute_type, Device device) {
  if (!device.is_cpu()) throw DeviceError("this build has no CUDA backend; use --device cpu");
  if (!std::filesystem::is_directory(dir))
    throw ModelError(dir.string() + ": model folder does not exist");
  const ModelFile file = ModelFile::open(dir / "model.bin", "WhisperSpec");
  auto model = std::shared_ptr<WhisperModel>(new WhisperModel());
  model->dir_ = dir;
  model->compute_type_ = compute_type;
  model->config_ = WhisperConfig::load(dir, file);
  const WhisperConfig& c = model->config_;
  const int64_t d = c.d_model;
  const WeightLoader w(file, compute_type, d);

  model->conv1_w_ = file.to_float("encoder/conv1/weight", {d, c.n_mels, 3});
  model->conv1_b_ = w.vec("encoder/conv1/bias", d);
  model->conv2_w_ = file.to_float("encoder/conv2/weight", {d, d, 3});
  model->conv2_b_ = w.vec("encoder/conv2/bias", d);
  model->encoder_positions_ = file.to_float("encoder/position_encodings/encodings", {c.audio_frames, d});
  for (int i = 0; i < c.encoder_layers; ++i) {
    const std::string p = "encoder/layer_" + std::to_string(i);
    model->encoder_layers_.push_back(
        {w.self_attention(p + "/self_attention", c.encoder_heads), w.ffn(p + "/ffn")});
  }
  model->encoder_norm_ = w.norm("encoder/layer_norm");

  model->embeddings_ = file.to_float("decoder/embeddings/weight", {c.vocab_size, d});
  model->decoder_positions_ =
      file.to_float("decoder/position_encodings/encodings", {c.max_target_positions, d});
  for (int i = 0; i < c.decoder_layers; ++i) {
    const std::string p = "decoder/layer_" + std::to_string(i);
    model->decoder_layers_.push_back({w.self_attention(p + "/self_attention", c.decoder_heads),
                                      w.cross_attention(p + "/attention", c.decoder_heads),
                                      w.ffn(p + "/ffn")});
  }
  model->decoder_norm_ = w.norm("decoder/layer_norm");
  model->projection_ = w.linear("decoder/projection", c.vocab_size, d, true);
  log::debug("loaded ", dir.string(), ": d_model ", d, ", ", c.encoder_layers, "+",
             c.decoder_layers, " layers, vocab ", c.vocab_size, ", ", compute_type_name(compute_type));
  return model;
}

Tensor WhisperModel::encode(const ExecContext& ctx, const Tensor& features) const {
  const int64_t frames_in = 2 * config_.audio_frames;
  if (features.rank() != 3 || features.dim(1) != config_.n_mels || features.dim(2) != frames_in)
    throw Error("encode: features must be [batch, " + std::to_string(config_.n_mels) + ", " +
                std::to_string(frames_in) + "], got " + shape_str(features.shape()));
  const int64_t batch = features.dim(0), d = config_.d_model, t = config_.audio_frames;
  Tensor h1, h2, x;
  ops::conv1d(ctx, features, conv1_w_, conv1_b_, 1, 1, h1);
  ops::gelu(ctx, h1);
  ops::conv1d(ctx, h1, conv2_w_, conv2_b_, 2, 1, h2);
  ops::gelu(ctx, h2);
  ops::transpose_last2(ctx, h2, x);  // [batch, t, d]
  for (int64_t b = 0; b < batch; ++b) {
    Tensor slot = x.slice_rows(b, b + 1).reshape({t, d});
    ops::add(ctx, slot, encoder_positions_);
  }
  Tensor flat = x.reshape({batch * t, d});
  layers::Workspace ws;
  for (const auto& layer : encoder_layers_) layer.forward(ctx, flat, batch, ws);
  Tensor out;
  encoder_norm_.forward(ctx, flat, out);
  return out.reshape({batch, t, d});
}

std::unique_ptr<WhisperDecoder> WhisperModel::start_decoder(const ExecContext& ctx,
                                                            const Tensor& encoded) const {
  return std::make_unique<WhisperDecoder>(*this, ctx, encoded);
}

}  // namespace voiceman::models
