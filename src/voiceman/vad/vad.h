#pragma once
// The speech detector: Silero VAD v6 run by our engine, then faster-whisper's region
// logic. detect() is const and keeps no per-call state: on the CPU one instance can serve
// several threads at once.
#include <filesystem>
#include <span>
#include <vector>

#include "voiceman/core/device.h"
#include "voiceman/engine/models/silero_vad.h"
#include "voiceman/vad/options.h"
#include "voiceman/vad/speech.h"

namespace voiceman::vad {

class Vad {
 public:
  // Loads the ONNX model (ModelError naming the file when it cannot be used).
  explicit Vad(const std::filesystem::path& model, ExecContext ctx = {});

  // Speech regions of 16 kHz mono audio, in samples (get_speech_timestamps).
  std::vector<SpeechRegion> detect(std::span<const float> audio16k,
                                   const VadOptions& options) const;
  // The per-frame probabilities detect uses: one per 512 samples, over the audio
  // zero-padded to a whole frame plus, when it already is whole, one more silent frame
  // (faster-whisper's padding); the final frame's last 64 samples are zeroed as
  // faster-whisper does.
  std::vector<float> probabilities(std::span<const float> audio16k) const;

 private:
  ExecContext ctx_;
  models::SileroVad model_;
};

}  // namespace voiceman::vad
