#include "voiceman/features/recording_features.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "voiceman/core/errors.h"
#include "voiceman/features/window_features.h"

namespace voiceman::features {
namespace {

constexpr int kWindowFrames = MelExtractor::kChunkFrames;
// faster-whisper pads the seek loop's features as it pads a chunk's: 160 samples.
constexpr int kPadding = kChunkPadding;

}  // namespace

RecordingFeatures::RecordingFeatures(const ExecContext& ctx, const MelExtractor& mel,
                                     std::span<const float> audio, SpectrumPrecision precision)
    : n_mels_(mel.n_mels()) {
  if (!ctx.device.is_cpu()) {
#ifdef VOICEMAN_CUDA
    features_ = cuda::recording_features(ctx, mel, audio, precision);
    frames_ = static_cast<int>(features_.dim(1));
    return;
#else
    (void)precision;
    throw DeviceError("log-mel features: no implementation for device " + ctx.device.str() +
                      " in this build");
#endif
  }
  const std::vector<float> values = mel.compute(audio, kPadding, &frames_);
  features_ = Tensor::from_vector(values, {n_mels_, frames_});
}

void RecordingFeatures::copy_window(const ExecContext& ctx, int seek, int size, Tensor& batch,
                                    int64_t index) const {
  if (batch.rank() != 3 || batch.dim(1) != n_mels_ || batch.dim(2) != kWindowFrames ||
      batch.dtype() != DType::f32 || batch.device() != features_.device())
    throw Error("log-mel window: the batch is not [n, " + std::to_string(n_mels_) +
                ", 3000] float32 on " + features_.device().str());
  if (index < 0 || index >= batch.dim(0) || seek < 0 || size < 0 || size > kWindowFrames ||
      static_cast<int64_t>(seek) + size > frames_)
    throw Error("log-mel window: frames [" + std::to_string(seek) + ", " +
                std::to_string(static_cast<int64_t>(seek) + size) + ") into batch row " +
                std::to_string(index) + " are out of range (" + std::to_string(frames_) +
                " frames, " + std::to_string(batch.dim(0)) + " rows)");
  if (!features_.device().is_cpu()) {
#ifdef VOICEMAN_CUDA
    cuda::copy_window(ctx, features_, seek, size, batch, index);
    return;
#endif
  }
  const float* src = features_.data<float>();
  float* dst = batch.data<float>() + index * static_cast<int64_t>(n_mels_) * kWindowFrames;
  std::fill(dst, dst + static_cast<size_t>(n_mels_) * kWindowFrames, 0.f);
  for (int m = 0; m < n_mels_; ++m)
    std::memcpy(dst + static_cast<size_t>(m) * kWindowFrames,
                src + static_cast<size_t>(m) * frames_ + seek, sizeof(float) * size);
}

}  // namespace voiceman::features
