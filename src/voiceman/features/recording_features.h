#pragma once
// The seek loop's input: a whole recording's log-mel spectrogram [n_mels, frames], with
// the -8 floor taken from the whole recording's peak (MelExtractor::compute(audio, 160)),
// kept on the context's device, and its 30 s windows copied into an encoder batch. On a
// CUDA context only the PCM goes up: the spectrogram is computed on the device.
#include <cstdint>
#include <span>

#include "voiceman/core/device.h"
#include "voiceman/core/tensor.h"
#include "voiceman/features/mel.h"

namespace voiceman::features {

class RecordingFeatures {
 public:
  // `precision` applies on a GPU. Throws DeviceError for a device this build has no
  // backend for.
  RecordingFeatures(const ExecContext& ctx, const MelExtractor& mel, std::span<const float> audio,
                    SpectrumPrecision precision = SpectrumPrecision::float64);

  int frames() const { return frames_; }  // (samples + 160) / 160, the last one included
  int n_mels() const { return n_mels_; }
  const Tensor& features() const { return features_; }  // [n_mels, frames] on ctx's device

  // features[:, seek : seek + size] zero-padded to 3000 frames, into batch[index]
  // ([n, n_mels, 3000] float32 on the same device); all of batch[index] is written.
  void copy_window(const ExecContext& ctx, int seek, int size, Tensor& batch, int64_t index) const;

 private:
  int n_mels_;
  int frames_ = 0;
  Tensor features_;
};

namespace cuda {
// The CUDA implementation (mel_cuda.cu): the features [n_mels, frames] on ctx's device, and
// RecordingFeatures::copy_window's copy, its bounds already checked.
Tensor recording_features(const ExecContext& ctx, const MelExtractor& mel,
                          std::span<const float> audio, SpectrumPrecision precision);
void copy_window(const ExecContext& ctx, const Tensor& features, int seek, int size, Tensor& batch,
                 int64_t index);
}  // namespace cuda

}  // namespace voiceman::features
