#pragma once
// The native diarizer: pyannote's PyanNet segmentation model and a speaker encoder
// (resemblyzer GE2E) run on the engine, driven by the pipeline of diarize/pipeline.h.
// Stateless between calls: one Diarizer may serve several threads at once.
#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "voiceman/core/device.h"
#include "voiceman/core/transcript.h"
#include "voiceman/diarize/options.h"
#include "voiceman/diarize/pipeline.h"

namespace voiceman::models {
class PyannoteSegmentation;
class SpeakerEncoder;
}  // namespace voiceman::models

namespace voiceman::diarize {

class Diarizer {
 public:
  Diarizer(std::shared_ptr<const models::PyannoteSegmentation> segmentation,
           std::shared_ptr<const models::SpeakerEncoder> encoder, ExecContext ctx = {});
  // Loads both checkpoints (ModelError naming the file on failure). bf16_lstm: both models
  // load with bf16 LSTM products, as their load() describes (CPU with native bf16 only,
  // else ConfigError).
  static Diarizer load(const std::filesystem::path& segmentation,
                       const std::filesystem::path& encoder, ExecContext ctx = {},
                       bool bf16_lstm = false);

  // Speaker turns of 16 kHz mono audio, labelled SPEAKER_00... by first appearance,
  // overlapping where two people speak at once. ConfigError on invalid options.
  std::vector<SpeakerTurn> run(std::span<const float> audio16k, const DiarizeOptions& options,
                               DiarizeStats* stats = nullptr) const;

  const SegmenterSpec& segmenter_spec() const { return spec_; }
  // The two models as the pipeline calls them (for tools that drive diarize() directly,
  // e.g. to reuse model outputs across option sweeps).
  SegmentFn segment_fn() const;
  EmbedFn embed_fn() const;

 private:
  std::shared_ptr<const models::PyannoteSegmentation> segmentation_;
  std::shared_ptr<const models::SpeakerEncoder> encoder_;
  ExecContext ctx_;
  SegmenterSpec spec_;
};

}  // namespace voiceman::diarize
