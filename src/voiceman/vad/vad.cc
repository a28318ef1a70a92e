#include "voiceman/vad/vad.h"

#include <algorithm>

#include "voiceman/core/log.h"

namespace voiceman::vad {

Vad::Vad(const std::filesystem::path& model, ExecContext ctx)
    : ctx_(ctx), model_(models::SileroVad::load(model, ctx.device)) {
  log::debug("VAD model ", model.string(), " loaded on ", ctx.device.str());
}

std::vector<float> Vad::probabilities(std::span<const float> audio16k) const {
  // get_speech_timestamps pads with 512 - len % 512 zeros: always at least one sample.
  const int64_t frames = static_cast<int64_t>(audio16k.size()) / kFrameSamples + 1;
  // SileroVADModel zeroes the last 64 samples of the final frame (its context slice is a
  // view of the audio); they matter when the padding is shorter than that.
  const auto kept = static_cast<size_t>(frames * kFrameSamples - models::SileroVad::kContext);
  return model_.probabilities(ctx_, audio16k.first(std::min(kept, audio16k.size())), frames);
}

std::vector<SpeechRegion> Vad::detect(std::span<const float> audio16k,
                                      const VadOptions& options) const {
  validate(options);
  const std::vector<float> probs = probabilities(audio16k);
  return speech_timestamps(probs, static_cast<int64_t>(audio16k.size()), options);
}

}  // namespace voiceman::vad
