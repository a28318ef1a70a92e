#include "voiceman/engine/models/whisper_model.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <numeric>

#include "voiceman/core/errors.h"
#include "voiceman/core/log.h"
#include "voiceman/engine/models/model_file.h"
#include "voiceman/engine/models/whisper_decoder.h"
#include "voiceman/engine/primitives/cpu_bf16.h"
#include "voiceman/engine/primitives/cpu_primitives.h"
#ifdef VOICEMAN_CUDA
#include "voiceman/engine/cuda/runtime.h"
#endif

namespace voiceman::models {

// Where the loader gets its float32 weights.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual Tensor get(const std::string& name, const Shape& shape) const = 0;
  virtual bool has(const std::string& name) const = 0;
  virtual int64_t rows(const std::string& name) const = 0;  // first dimension
  // A matrix stored as int8 with per-row scales (CTranslate2's int8 layout), as stored;
  // false when it is stored in floating point.
  virtual bool stored_int8(const std::string& name, const Shape& shape, Tensor& q,
                           Tensor& scales) const {
    return false;
  }
  // Whether two names are one stored variable (an alias in model.bin).
  virtual bool same_variable(const std::string& a, const std::string& b) const { return false; }
};

namespace {

class FileSource final : public WeightSource {
 public:
  explicit FileSource(const ModelFile& file) : file_(file) {}
  Tensor get(const std::string& name, const Shape& shape) const override {
    return file_.to_float(name, shape);
  }
  bool has(const std::string& name) const override { return file_.has(name); }
  int64_t rows(const std::string& name) const override { return file_.info(name).shape.at(0); }
  bool stored_int8(const std::string& name, const Shape& shape, Tensor& q,
                   Tensor& scales) const override {
    const VariableInfo& v = file_.info(name);
    if (v.dtype != DType::i8 || v.shape != shape) return false;
    scales = file_.to_float(name + "_scale", {shape.at(0)});
    q = Tensor(shape, DType::i8);
    std::memcpy(q.data<int8_t>(), file_.raw(name), v.bytes);
    return true;
  }
  bool same_variable(const std::string& a, const std::string& b) const override {
    return &file_.info(a) == &file_.info(b);
  }

 private:
  const ModelFile& file_;
};

// Counter-based random values (splitmix64 of seed, name and index): reproducible per
// tensor whatever the order or device, and parallel.
class RandomSource final : public WeightSource {
 public:
  RandomSource(const WhisperConfig& c, uint64_t seed) : d_(c.d_model), seed_(seed) {}
  Tensor get(const std::string& name, const Shape& shape) const override {
    Tensor t(shape);
    if (name.ends_with("/gamma") || name.ends_with("/beta")) {
      std::fill(t.span<float>().begin(), t.span<float>().end(),
                name.ends_with("/gamma") ? 1.f : 0.f);
      return t;
    }
    const uint64_t name_hash = std::hash<std::string>{}(name);  // stable within a build
    const uint64_t base = seed_ ^ (name_hash * 0x9e3779b97f4a7c15ull);
    const float half_width = 0.02f * 1.7320508f;  // uniform with std 0.02
    float* p = t.data<float>();
    const int64_t n = t.numel();
#pragma omp parallel for schedule(static) if (n > (1 << 20))
    for (int64_t i = 0; i < n; ++i) {
      uint64_t z = base + static_cast<uint64_t>(i) * 0x9e3779b97f4a7c15ull;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      p[i] = half_width * (static_cast<float>(z >> 40) * (2.f / 16777216.f) - 1.f);
    }
    return t;
  }
  bool has(const std::string& name) const override { return true; }        // biases everywhere
  int64_t rows(const std::string& name) const override { return 4 * d_; }  // FFN width

 private:
  int64_t d_;
  uint64_t seed_;
};

class WeightLoader {
 public:
  WeightLoader(const WeightSource& source, ComputeType type, int64_t d)
      : source_(source), type_(type), d_(d) {}

  Tensor vec(const std::string& name, int64_t n) const { return source_.get(name, {n}); }

  layers::LayerNorm norm(const std::string& prefix) const {
    return {vec(prefix + "/gamma", d_), vec(prefix + "/beta", d_)};
  }

  ops::LinearWeight linear(const std::string& prefix, int64_t out, int64_t in,
                           bool quantize) const {
    ops::LinearWeight w;
    if (source_.has(prefix + "/bias")) w.bias = vec(prefix + "/bias", out);
    // An int8 model folder is used as stored, not dequantised and quantised again (which
    // is twice the work and could move a scale by one ulp).
    if (quantize && is_int8(type_) &&
        source_.stored_int8(prefix + "/weight", {out, in}, w.weight, w.scales))
      return w;
    Tensor weight = source_.get(prefix + "/weight", {out, in});
    if (quantize && is_int8(type_)) {
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
    const int64_t hidden = source_.rows(prefix + "/linear_0/weight");
    return {norm(prefix + "/layer_norm"), linear(prefix + "/linear_0", hidden, d_, true),
            linear(prefix + "/linear_1", d_, hidden, true)};
  }

  layers::SelfAttention self_attention(const std::string& prefix, int heads) const {
    return {norm(prefix + "/layer_norm"), linear(prefix + "/linear_0", 3 * d_, d_, true),
            linear(prefix + "/linear_1", d_, d_, true), heads};
  }

  layers::CrossAttention cross_attention(const std::string& prefix, int heads) const {
    return {norm(prefix + "/layer_norm"), linear(prefix + "/linear_0", d_, d_, true),
            linear(prefix + "/linear_1", 2 * d_, d_, true),
            linear(prefix + "/linear_2", d_, d_, true), heads};
  }

 private:
  const WeightSource& source_;
  ComputeType type_;
  int64_t d_;
};

}  // namespace

ComputeType parse_compute_type(const std::string& name) {
  if (name == "float32" || name == "float") return ComputeType::float32;
  if (name == "int8") return ComputeType::int8;
  if (name == "float16") return ComputeType::float16;
  if (name == "bfloat16") return ComputeType::bfloat16;
  if (name == "int8_bfloat16") return ComputeType::int8_bfloat16;
  throw ConfigError("unknown compute type '" + name +
                    "' (use float32, int8 or int8_bfloat16; float16 or bfloat16 on a GPU)");
}

ComputeType best_cpu_compute_type() {
  return primitives::cpu::bf16_gemm_supported() ? ComputeType::int8_bfloat16 : ComputeType::int8;
}

std::string compute_type_name(ComputeType type) {
  switch (type) {
    case ComputeType::int8:
      return "int8";
    case ComputeType::float16:
      return "float16";
    case ComputeType::bfloat16:
      return "bfloat16";
    case ComputeType::int8_bfloat16:
      return "int8_bfloat16";
    default:
      return "float32";
  }
}

DType activation_dtype(ComputeType type, Device device) {
  if (device.is_cpu()) {
    if (type == ComputeType::float16 || type == ComputeType::bfloat16)
      throw ConfigError("compute type " + compute_type_name(type) +
                        " needs a CUDA device; use float32 or int8 on the CPU");
    return DType::f32;
  }
  switch (type) {
    case ComputeType::float32:
      return DType::f32;
    case ComputeType::int8_bfloat16:
      throw ConfigError("compute type int8_bfloat16 is for the CPU; use int8 or bfloat16 on a GPU");
    case ComputeType::bfloat16:
      return DType::bf16;
    default:
      return DType::f16;  // float16, and int8's activations
  }
}

namespace {

DType checked_dtype(ComputeType compute_type, Device device) {
  const DType dtype = activation_dtype(compute_type, device);  // ConfigError first
  if (!device.is_cpu()) {  // fail before reading gigabytes of weights
#ifdef VOICEMAN_CUDA
    cuda::set_device(device);
#else
    throw DeviceError(device.str() + ": this build has no CUDA backend; use --device cpu");
#endif
  }
  return dtype;
}

}  // namespace

std::shared_ptr<const WhisperModel> WhisperModel::load(const std::filesystem::path& dir,
                                                       ComputeType compute_type, Device device,
                                                       DecoderOptions decoder) {
  const DType dtype = checked_dtype(compute_type, device);
  if (!std::filesystem::is_directory(dir))
    throw ModelError(dir.string() + ": model folder does not exist");
  const ModelFile file = ModelFile::open(dir / "model.bin", "WhisperSpec");
  auto model = std::shared_ptr<WhisperModel>(new WhisperModel());
  model->dir_ = dir;
  model->compute_type_ = compute_type;
  model->device_ = device;
  model->dtype_ = dtype;
  model->decoder_options_ = decoder;
  model->config_ = WhisperConfig::load(dir, file);
  model->build(FileSource(file));
  const WhisperConfig& c = model->config_;
  log::debug("loaded ", dir.string(), ": d_model ", c.d_model, ", ", c.encoder_layers, "+",
             c.decoder_layers, " layers, vocab ", c.vocab_size, ", ",
             compute_type_name(compute_type), " on ", device.str(),
             decoder.int8_cross_kv ? ", int8 cross keys and values" : "");
  return model;
}

std::shared_ptr<const WhisperModel> WhisperModel::random(const WhisperConfig& config,
                                                         ComputeType compute_type, Device device,
                                                         uint64_t seed, DecoderOptions decoder) {
  if (config.d_model <= 0 || config.encoder_heads <= 0 || config.decoder_heads <= 0 ||
      config.d_model % config.encoder_heads || config.d_model % config.decoder_heads)
    throw ConfigError("random model: heads must divide d_model");
  auto model = std::shared_ptr<WhisperModel>(new WhisperModel());
  model->compute_type_ = compute_type;
  model->device_ = device;
  model->dtype_ = checked_dtype(compute_type, device);
  model->decoder_options_ = decoder;
  model->config_ = config;
  model->build(RandomSource(config, seed));
  return model;
}

void WhisperModel::build(const WeightSource& source) {
  const WhisperConfig& c = config_;
  const int64_t d = c.d_model;
  const WeightLoader w(source, compute_type_, d);

  conv1_w_ = source.get("encoder/conv1/weight", {d, c.n_mels, 3});
  conv1_b_ = w.vec("encoder/conv1/bias", d);
  conv2_w_ = source.get("encoder/conv2/weight", {d, d, 3});
  conv2_b_ = w.vec("encoder/conv2/bias", d);
  encoder_positions_ = source.get("encoder/position_encodings/encodings", {c.audio_frames, d});
  for (int i = 0; i < c.encoder_layers; ++i) {
    const std::string p = "encoder/layer_" + std::to_string(i);
    encoder_layers_.push_back(
        {w.self_attention(p + "/self_attention", c.encoder_heads), w.ffn(p + "/ffn")});
  }
  encoder_norm_ = w.norm("encoder/layer_norm");

  decoder_positions_ =
      source.get("decoder/position_encodings/encodings", {c.max_target_positions, d});
  for (int i = 0; i < c.decoder_layers; ++i) {
    const std::string p = "decoder/layer_" + std::to_string(i);
    decoder_layers_.push_back({w.self_attention(p + "/self_attention", c.decoder_heads),
                               w.cross_attention(p + "/attention", c.decoder_heads),
                               w.ffn(p + "/ffn")});
  }
  decoder_norm_ = w.norm("decoder/layer_norm");
  projection_ = w.linear("decoder/projection", c.vocab_size, d, true);
  place_weights(load_embeddings(source));
}

bool WhisperModel::load_embeddings(const WeightSource& source) {
  const Shape shape{config_.vocab_size, config_.d_model};
  if (!source.same_variable("decoder/embeddings/weight", "decoder/projection/weight")) {
    embeddings_ = source.get("decoder/embeddings/weight", shape);
    return false;
  }
  // Whisper's output projection is its token embedding matrix (model.bin stores an alias),
  // so one copy serves both. When the projection is int8, the embeddings are its rows
  // dequantised, as CTranslate2 quantises an int8 model's embeddings too.
  if (projection_.weight.dtype() != DType::i8) {
    embeddings_ = projection_.weight;
    return true;
  }
  if (device_.is_cpu()) {
    embeddings_ = projection_.weight;
    embedding_scales_ = projection_.scales;
  } else {  // the GPU keeps its table in the activation dtype: dequantise here, cast later
    const ExecContext host;
    std::vector<int32_t> all(static_cast<size_t>(config_.vocab_size));
    std::iota(all.begin(), all.end(), 0);
    ops::embedding(host, projection_.weight, projection_.scales, all, embeddings_);
  }
  return false;
}

void WhisperModel::place_weights(bool projection_is_embeddings) {
  if (device_.is_cpu() && dtype_ == DType::f32) return;  // loaded as they are used
  const ExecContext host;
  auto place = [&](Tensor& t) {
    if (t.empty()) return;
    Tensor converted = t;
    if (t.dtype() == DType::f32 && dtype_ != DType::f32) ops::cast(host, t, dtype_, converted);
    t = converted.to(device_);
  };
  // int8 weights keep their dtype and their float32 scales: only the float tensors change.
  auto place_linear = [&](ops::LinearWeight& w) {
    place(w.weight);
    if (!w.scales.empty()) w.scales = w.scales.to(device_);
    place(w.bias);
  };
  auto place_norm = [&](layers::LayerNorm& n) {
    place(n.gamma);
    place(n.beta);
  };
  auto place_ffn = [&](layers::FeedForward& f) {
    place_norm(f.ln);
    place_linear(f.fc1);
    place_linear(f.fc2);
  };
  auto place_self = [&](layers::SelfAttention& a) {
    place_norm(a.ln);
    place_linear(a.qkv);
    place_linear(a.out);
  };
  for (Tensor* t : {&conv1_w_, &conv1_b_, &conv2_w_, &conv2_b_, &encoder_positions_, &embeddings_,
                    &decoder_positions_})
    place(*t);
  for (auto& layer : encoder_layers_) {
    place_self(layer.attention);
    place_ffn(layer.ffn);
  }
  for (auto& layer : decoder_layers_) {
    place_self(layer.self_attention);
    place_norm(layer.cross_attention.ln);
    place_linear(layer.cross_attention.q);
    place_linear(layer.cross_attention.kv);
    place_linear(layer.cross_attention.out);
    place_ffn(layer.ffn);
  }
  place_norm(encoder_norm_);
  place_norm(decoder_norm_);
  if (projection_is_embeddings) {
    projection_.weight = embeddings_;  // placed above: one device copy of the tied matrix
    place(projection_.bias);
  } else {
    place_linear(projection_);
  }
}

void WhisperModel::check_context(const ExecContext& ctx) const {
  if (ctx.device != device_)
    throw DeviceError("the model is loaded on " + device_.str() + " but asked to run on " +
                      ctx.device.str());
}

Tensor WhisperModel::encode(const ExecContext& ctx, const Tensor& features) const {
  check_context(ctx);
  const int64_t frames_in = 2 * int64_t(config_.audio_frames);
  if (features.rank() != 3 || features.dim(1) != config_.n_mels || features.dim(2) != frames_in)
    throw Error("encode: features must be [batch, " + std::to_string(config_.n_mels) + ", " +
                std::to_string(frames_in) + "], got " + shape_str(features.shape()));
  const int64_t batch = features.dim(0), d = config_.d_model, t = config_.audio_frames;
  // Features arrive as float32 (usually on the host): move and convert them once.
  Tensor input = features.device() == device_ ? features : features.to(device_, ctx);
  if (input.dtype() != dtype_) {
    Tensor converted;
    ops::cast(ctx, input, dtype_, converted);
    input = converted;
  }
  ExecContext ectx = ctx;
  ectx.bf16_attention = compute_type_ == ComputeType::int8_bfloat16;
  Tensor h1, h2, x;
  ops::conv1d(ctx, input, conv1_w_, conv1_b_, 1, 1, h1);
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
  for (const auto& layer : encoder_layers_) layer.forward(ectx, flat, batch, ws);
  Tensor out;
  encoder_norm_.forward(ctx, flat, out);
  return out.reshape({batch, t, d});
}

std::unique_ptr<WhisperDecoder> WhisperModel::start_decoder(const ExecContext& ctx,
                                                            const Tensor& encoded) const {
  check_context(ctx);
  return std::make_unique<WhisperDecoder>(*this, ctx, encoded);
}

}  // namespace voiceman::models
