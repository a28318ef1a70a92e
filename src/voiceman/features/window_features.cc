#include "voiceman/features/window_features.h"

#include <algorithm>
#include <cstring>

#include "voiceman/core/errors.h"

namespace voiceman::features {
namespace {

constexpr int kWindowFrames = MelExtractor::kChunkFrames;

}  // namespace

SpectrumPrecision spectrum_precision_for(DType dtype) {
  return dtype == DType::f16 || dtype == DType::bf16 ? SpectrumPrecision::float32
                                                     : SpectrumPrecision::float64;
}

WindowFeatures window_features(const ExecContext& ctx, const MelExtractor& mel,
                               const std::vector<std::span<const float>>& chunks,
                               SpectrumPrecision precision) {
  const int n_mels = mel.n_mels();
  const auto n = static_cast<int64_t>(chunks.size());
  WindowFeatures w;
  for (const auto& chunk : chunks)
    w.content_frames.push_back(content_frames(static_cast<int64_t>(chunk.size())));
  if (n == 0) {
    w.features = Tensor({0, n_mels, kWindowFrames});
    return w;
  }
  if (!ctx.device.is_cpu()) {
#ifdef VOICEMAN_CUDA
    w.features = Tensor({n, n_mels, kWindowFrames}, DType::f32, ctx.device);
    cuda::window_features(ctx, mel, chunks, precision, w.features);
    return w;
#else
    (void)precision;
    throw DeviceError("log-mel features: no implementation for device " + ctx.device.str() +
                      " in this build");
#endif
  }
  w.features = Tensor({n, n_mels, kWindowFrames});
  for (size_t i = 0; i < chunks.size(); ++i) {
    int frames = 0;
    const std::vector<float> m = mel.compute(chunks[i], kChunkPadding, &frames);
    const int content = w.content_frames[i];
    float* dst = w.features.data<float>() + i * static_cast<size_t>(n_mels) * kWindowFrames;
    std::fill(dst, dst + static_cast<size_t>(n_mels) * kWindowFrames, 0.f);
    for (int r = 0; r < n_mels; ++r)
      std::memcpy(dst + static_cast<size_t>(r) * kWindowFrames,
                  m.data() + static_cast<size_t>(r) * frames, sizeof(float) * content);
  }
  return w;
}

size_t language_window_chunks(const std::vector<int64_t>& chunk_samples, int segments) {
  const int64_t wanted = static_cast<int64_t>(std::max(segments, 1)) * kWindowFrames;
  int64_t frames = 0;
  size_t n = 0;
  while (n < chunk_samples.size() && frames < wanted) frames += content_frames(chunk_samples[n++]);
  return n;
}

Tensor language_windows(const ExecContext& ctx, const MelExtractor& mel,
                        const std::vector<std::span<const float>>& chunks, int segments) {
  if (chunks.empty()) throw Error("language_windows: no chunks");
  ExecContext host;
  host.threads = ctx.threads;
  const WindowFeatures w = window_features(host, mel, chunks);
  const int n_mels = mel.n_mels();
  // The frames end to end, then faster-whisper's one dummy frame of -1.5.
  int64_t total = 1;
  for (int c : w.content_frames) total += c;
  const int64_t used =
      std::min<int64_t>(total, static_cast<int64_t>(std::max(segments, 1)) * kWindowFrames);
  const int64_t k = (used + kWindowFrames - 1) / kWindowFrames;
  Tensor out = Tensor::zeros({k, n_mels, kWindowFrames});
  auto put = [&](int64_t frame, int row, float value) {
    if (frame >= used) return;
    const int64_t window = frame / kWindowFrames;
    out.data<float>()[(window * n_mels + row) * kWindowFrames + frame % kWindowFrames] = value;
  };
  int64_t at = 0;
  for (size_t c = 0; c < chunks.size() && at < used; ++c) {
    const float* src = w.features.data<float>() + c * static_cast<size_t>(n_mels) * kWindowFrames;
    for (int r = 0; r < n_mels; ++r)
      for (int f = 0; f < w.content_frames[c]; ++f)
        put(at + f, r, src[static_cast<size_t>(r) * kWindowFrames + f]);
    at += w.content_frames[c];
  }
  for (int r = 0; r < n_mels; ++r) put(at, r, -1.5f);
  return ctx.device.is_cpu() ? out : out.to(ctx.device, ctx);
}

}  // namespace voiceman::features
