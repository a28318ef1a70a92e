#pragma once
// Long-form transcription with faster-whisper's seek loop, run for many recordings at once:
// every round takes the next 30 s window of each active recording, encodes and decodes
// them as one batch, then advances each recording's own seek. Each recording's result is
// the same as transcribing it alone. Each recording's log-mel is computed on the engine's
// device and its windows are cut there: a GPU receives PCM, not features.
#include <memory>
#include <span>
#include <vector>

#include "voiceman/asr/options.h"
#include "voiceman/core/device.h"
#include "voiceman/core/transcript.h"
#include "voiceman/engine/models/whisper_model.h"
#include "voiceman/tokenizer/tokenizer.h"

namespace voiceman::asr {

class Transcriber {
 public:
  Transcriber(std::shared_ptr<const models::WhisperModel> model, tokenizer::Tokenizer tokenizer,
              ExecContext ctx);

  // Transcribes 16 kHz mono recordings; results are in input order.
  std::vector<Transcript> transcribe(const std::vector<std::span<const float>>& audios,
                                     const TranscribeOptions& options) const;

  Transcript transcribe(std::span<const float> audio, const TranscribeOptions& options) const {
    return std::move(transcribe(std::vector<std::span<const float>>{audio}, options).front());
  }

  const models::WhisperModel& model() const { return *model_; }
  const tokenizer::Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  std::shared_ptr<const models::WhisperModel> model_;
  tokenizer::Tokenizer tokenizer_;
  ExecContext ctx_;
};

}  // namespace voiceman::asr
