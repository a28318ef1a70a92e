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

}  // namespace voiceman::features
