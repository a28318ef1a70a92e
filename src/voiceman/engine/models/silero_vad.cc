#include "voiceman/engine/models/silero_vad.h"

#include <algorithm>
#include <map>
#include <string>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/onnx_file.h"

namespace voiceman::models {

namespace {

constexpr int64_t kInput = SileroVad::kFrame + SileroVad::kContext;  // 576
constexpr int64_t kReflect = 128;               // the STFT's reflect padding (right side used)
constexpr int64_t kPadded = kInput + kReflect;  // 704
constexpr int64_t kFftWindow = 256, kHop = 128, kStftFrames = 4, kBins = 129;
constexpr int64_t kHidden = 128;
// Frames per encoder batch: bounds memory (~30 MB of activations) on long recordings.
constexpr int64_t kBlockFrames = 2048;

class Weights {
 public:
  Weights(const onnx::Model& model, std::string origin) : origin_(std::move(origin)) {
    add(model.graph);
  }
  const onnx::TensorData& get(const std::string& name, const Shape& shape) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) fail("missing initializer " + name);
    if (it->second->dims != shape)
      fail("initializer " + name + " has shape " + shape_str(it->second->dims) + ", expected " +
           shape_str(shape));
    return *it->second;
  }
  std::vector<float> floats(const std::string& name, const Shape& shape) const {
    return get(name, shape).floats(origin_);
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelError("Silero VAD model " + origin_ + ": " + what);
  }

 private:
  void add(const onnx::Graph& g) {
    for (const auto& t : g.initializers) tensors_.emplace(t.name, &t);
    for (const auto& n : g.nodes)
      for (const auto& a : n.attributes)
        for (const auto& sub : a.graphs) add(sub);
  }
  std::string origin_;
  std::map<std::string, const onnx::TensorData*> tensors_;
};

Tensor host_tensor(std::vector<float> values, Shape shape, Device device) {
  return Tensor::from_vector(values, std::move(shape)).to(device);
}

// The graph's Conv node reading `weight`, for its stride and padding.
const onnx::Node& conv_node(const onnx::Model& model, const Weights& w, const std::string& weight) {
  for (const onnx::Node* n : model.graph.all_nodes())
    if (n->op_type == "Conv" && n->inputs.size() >= 2 && n->inputs[1] == weight) return *n;
  w.fail("no Conv node uses " + weight);
}

int64_t single(const onnx::Node& node, const char* attr, int64_t fallback) {
  const onnx::Attribute* a = node.attribute(attr);
  return a && !a->ints.empty() ? a->ints[0] : fallback;
}

}  // namespace

SileroVad SileroVad::load(const std::filesystem::path& path, Device device) {
  const onnx::Model model = onnx::read_model(path);
  const Weights w(model, path.string());
  SileroVad vad;

  // STFT basis [258, 1, 256]: rows 0..128 real, 129..257 imaginary parts.
  vad.stft_.weight = host_tensor(
      w.floats("encoder.feature_extractor.forward_basis_buffer", {2 * kBins, 1, kFftWindow}),
      {2 * kBins, kFftWindow}, device);
  const onnx::Node& stft = conv_node(model, w, "encoder.feature_extractor.forward_basis_buffer");
  if (single(stft, "strides", 1) != kHop) w.fail("unexpected STFT hop");

  const int64_t channels[5] = {kBins, 128, 64, 64, 128};
  for (int l = 0; l < 4; ++l) {
    const std::string name = "encoder.conv_layers." + std::to_string(l);
    const int64_t cin = channels[l], cout = channels[l + 1], k = 3;
    const std::vector<float> weight = w.floats(name + ".weight", {cout, cin, k});
    // [out, in, k] -> [out, k, in]: the layout of channels-last windows.
    std::vector<float> permuted(weight.size());
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t c = 0; c < cin; ++c)
        for (int64_t j = 0; j < k; ++j)
          permuted[(o * k + j) * cin + c] = weight[(o * cin + c) * k + j];
    Conv layer;
    layer.linear.weight = host_tensor(permuted, {cout, k * cin}, device);
    layer.linear.bias = host_tensor(w.floats(name + ".bias", {cout}), {cout}, device);
    layer.c_in = cin;
    layer.kernel = k;
    const onnx::Node& node = conv_node(model, w, name + ".weight");
    layer.stride = single(node, "strides", 1);
    layer.padding = single(node, "pads", 0);
    if (layer.padding != 1 || (layer.stride != 1 && layer.stride != 2))
      w.fail("unexpected stride/padding in " + name);
    vad.convs_.push_back(std::move(layer));
  }

  // ONNX LSTM: W [1, 4H, I], R [1, 4H, H], B [1, 8H] in gate order (i, o, f, c); ours is
  // PyTorch's (i, f, g, o) with b_ih + b_hh summed.
  const onnx::Node* lstm = nullptr;
  for (const onnx::Node* n : model.graph.all_nodes())
    if (n->op_type == "LSTM") lstm = n;
  if (!lstm || lstm->inputs.size() < 4) w.fail("no LSTM node with weights");
  if (const auto* hs = lstm->attribute("hidden_size"); !hs || hs->i != kHidden)
    w.fail("LSTM hidden size is not 128");
  const auto wi = w.floats(lstm->inputs[1], {1, 4 * kHidden, 128});
  const auto wr = w.floats(lstm->inputs[2], {1, 4 * kHidden, kHidden});
  const auto wb = w.floats(lstm->inputs[3], {1, 8 * kHidden});
  const int onnx_block[4] = {0, 2, 3, 1};  // PyTorch gate g comes from ONNX block onnx_block[g]
  std::vector<float> w_ih(wi.size()), w_hh(wr.size()), bias(4 * kHidden);
  for (int g = 0; g < 4; ++g) {
    const int64_t src = onnx_block[g] * kHidden;
    std::copy_n(wi.begin() + src * 128, kHidden * 128, w_ih.begin() + g * kHidden * 128);
    std::copy_n(wr.begin() + src * kHidden, kHidden * kHidden,
                w_hh.begin() + g * kHidden * kHidden);
    for (int64_t j = 0; j < kHidden; ++j)
      bias[g * kHidden + j] = wb[src + j] + wb[4 * kHidden + src + j];
  }
  vad.lstm_.w_ih = host_tensor(w_ih, {4 * kHidden, 128}, device);
  vad.lstm_.w_hh = host_tensor(w_hh, {4 * kHidden, kHidden}, device);
  vad.lstm_.bias = host_tensor(bias, {4 * kHidden}, device);

  vad.decoder_.weight =
      host_tensor(w.floats("decoder.conv1d.weight", {1, kHidden, 1}), {1, kHidden}, device);
  vad.decoder_.bias = host_tensor(w.floats("decoder.conv1d.bias", {1}), {1}, device);
  return vad;
}

// x [N, t_in, c_in] (channels last) -> y [N * t_out, c_out]: gather the zero-padded
// windows of every output step into cols [N, t_out, k * c_in], then one GEMM for the batch.
void SileroVad::conv(const ExecContext& ctx, const Conv& layer, const Tensor& x, int64_t t_in,
                     Tensor& cols, Tensor& y) const {
  const int64_t n = x.numel() / (t_in * layer.c_in);
  const int64_t t_out = (t_in + 2 * layer.padding - layer.kernel) / layer.stride + 1;
  const int64_t width = layer.kernel * layer.c_in;
  const Shape shape{n * t_out, width};
  // Only the padding positions are never written below: zero them once per shape.
  if (cols.empty() || cols.shape() != shape || cols.device() != ctx.device)
    cols = Tensor::zeros(shape, x.dtype(), ctx.device);
  for (int64_t t = 0; t < t_out; ++t)
    for (int64_t k = 0; k < layer.kernel; ++k) {
      const int64_t src = t * layer.stride + k - layer.padding;
      if (src < 0 || src >= t_in) continue;  // zero padding
      ops::copy_rows(ctx, x, src * layer.c_in, t_in * layer.c_in, cols, t * width + k * layer.c_in,
                     t_out * width, n, layer.c_in);
    }
  ops::linear(ctx, cols, layer.linear, y);
  ops::relu(ctx, y);
}

// frames [N, 704] (context, frame, reflect padding) -> ws.features [N, 128].
void SileroVad::encode_block(const ExecContext& ctx, const Tensor& frames, Workspace& ws) const {
  const int64_t n = frames.dim(0);
  ws.windows.resize({n * kStftFrames, kFftWindow}, frames.dtype(), ctx.device);
  // STFT windows 1..4 of the reflect-padded input: window 0 is dropped by the model, so
  // the left padding is never read.
  for (int64_t t = 0; t < kStftFrames; ++t)
    ops::copy_rows(ctx, frames, t * kHop, kPadded, ws.windows, t * kFftWindow,
                   kStftFrames * kFftWindow, n, kFftWindow);
  ops::linear(ctx, ws.windows, stft_, ws.spectrum);
  ops::complex_magnitude(ctx, ws.spectrum, ws.magnitude);             // [N * 4, 129]
  conv(ctx, convs_[0], ws.magnitude, kStftFrames, ws.cols[0], ws.a);  // [N * 4, 128]
  conv(ctx, convs_[1], ws.a, 4, ws.cols[1], ws.b);                    // [N * 2, 64]
  conv(ctx, convs_[2], ws.b, 2, ws.cols[2], ws.a);                    // [N * 1, 64]
  conv(ctx, convs_[3], ws.a, 1, ws.cols[3], ws.features);             // [N, 128]
}

std::vector<float> SileroVad::probabilities(const ExecContext& ctx, std::span<const float> audio,
                                            int64_t n_frames) const {
  const int64_t len = static_cast<int64_t>(audio.size());
  if (n_frames < 0) n_frames = (len + kFrame - 1) / kFrame;
  auto sample = [&](int64_t i) { return i >= 0 && i < len ? audio[i] : 0.f; };
  std::vector<float> probs;
  probs.reserve(n_frames);
  Tensor h, c;  // LSTM state carried across blocks (zeros at the start)
  Workspace ws;
  for (int64_t first = 0; first < n_frames; first += kBlockFrames) {
    const int64_t n = std::min(kBlockFrames, n_frames - first);
    // [64 samples of the previous frame (zeros before the first) | 512 | reflect 128]
    Tensor frames({n, kPadded});
    for (int64_t f = 0; f < n; ++f) {
      float* row = frames.data<float>() + f * kPadded;
      const int64_t start = (first + f) * kFrame - kContext;
      for (int64_t i = 0; i < kInput; ++i) row[i] = sample(start + i);
      for (int64_t j = 0; j < kReflect; ++j) row[kInput + j] = row[kInput - 2 - j];
    }
    if (!ctx.device.is_cpu()) frames = frames.to(ctx.device);
    encode_block(ctx, frames, ws);
    ops::lstm(ctx, ws.features.reshape({1, n, kHidden}), lstm_, false, ws.hidden, &h, &c);
    Tensor flat = ws.hidden.reshape({n, kHidden});
    ops::relu(ctx, flat);
    ops::linear(ctx, flat, decoder_, ws.logits);
    ops::sigmoid(ctx, ws.logits);
    const Tensor out = ws.logits.to(Device::cpu());
    probs.insert(probs.end(), out.data<float>(), out.data<float>() + n);
  }
  return probs;
}

}  // namespace voiceman::models
