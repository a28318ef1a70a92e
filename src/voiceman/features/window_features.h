#pragma once
// The encoder's input for a batch of chunks: each chunk's log-mel frames (without the
// last one, as faster-whisper drops it), zero beyond them up to 30 s (pad_or_trim),
// as [n, n_mels, 3000]. On a CUDA context only the PCM goes up: the spectrogram is
// computed on the device (mel_cuda.cu), so the host does no FFTs for the GPU.
#include <cstdint>
#include <span>
#include <vector>

#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"
#include "voiceman/features/mel.h"

namespace voiceman::features {

// faster-whisper's padding for chunk features, in samples.
inline constexpr int kChunkPadding = 160;

// Frames of a chunk of `samples` that reach the encoder: the spectrogram's frames less the
// last one, at most 30 s. constexpr, so mel_cuda.cu's kernels use it too.
constexpr int content_frames(int64_t samples) {
  const int64_t frames = (samples + kChunkPadding) / MelExtractor::kHop;
  return static_cast<int>(frames - 1 < MelExtractor::kChunkFrames ? (frames > 0 ? frames - 1 : 0)
                                                                  : MelExtractor::kChunkFrames);
}

struct WindowFeatures {
  Tensor features;                  // [n, n_mels, 3000] float32 on ctx's device
  std::vector<int> content_frames;  // frames of each chunk before the zero padding
};

// The spectrum precision for an encoder whose activations are `dtype`: float32 for
// float16 and bfloat16 (float16, bfloat16 and int8 models on a GPU), float64 otherwise.
SpectrumPrecision spectrum_precision_for(DType dtype);

// Each chunk's frames are normalised by its own peak, as MelExtractor::compute does for
// the chunk alone. `precision` applies on a GPU. Throws DeviceError for a device this
// build has no backend for.
WindowFeatures window_features(const ExecContext& ctx, const MelExtractor& mel,
                               const std::vector<std::span<const float>>& chunks,
                               SpectrumPrecision precision = SpectrumPrecision::float64);

// The input of faster-whisper's language detection in BatchedInferencePipeline: the
// recording's chunk features (as window_features makes them) end to end, one frame of
// -1.5 after them, cut into up to `segments` windows of 3000 frames, the last one
// zero-padded. [k, n_mels, 3000] on ctx's device. The spectrum is taken on the host; a few
// windows per recording are not worth a device pass. `chunks` must not be empty.
Tensor language_windows(const ExecContext& ctx, const MelExtractor& mel,
                        const std::vector<std::span<const float>>& chunks, int segments);

// How many of a recording's chunks language_windows reads for `segments` windows, given
// each chunk's length in samples (in order): the ones whose frames start within them.
size_t language_window_chunks(const std::vector<int64_t>& chunk_samples, int segments);

namespace cuda {
// The CUDA implementation (mel_cuda.cu): fills `out`, already [n, n_mels, 3000] on the
// device, for a non-empty batch.
void window_features(const ExecContext& ctx, const MelExtractor& mel,
                     const std::vector<std::span<const float>>& chunks, SpectrumPrecision precision,
                     Tensor& out);
}  // namespace cuda

}  // namespace voiceman::features
