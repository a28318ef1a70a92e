#include "voiceman/diarize/diarizer.h"

#include <cmath>

#include "voiceman/core/errors.h"
#include "voiceman/engine/models/pyannote_segmentation.h"
#include "voiceman/engine/models/speaker_encoder.h"

namespace voiceman::diarize {

Diarizer::Diarizer(std::shared_ptr<const models::PyannoteSegmentation> segmentation,
                   std::shared_ptr<const models::SpeakerEncoder> encoder, ExecContext ctx)
    : segmentation_(std::move(segmentation)), encoder_(std::move(encoder)), ctx_(ctx) {
  if (!segmentation_ || !encoder_) throw ModelError("diarizer: a model is missing");
  if (segmentation_->sample_rate() != encoder_->sample_rate())
    throw ModelError(
        "diarizer: the segmentation model and the speaker encoder disagree on "
        "the sample rate");
  spec_.sample_rate = segmentation_->sample_rate();
  spec_.window_samples = std::llround(segmentation_->window_s() * spec_.sample_rate);
  spec_.frames_per_window = segmentation_->num_frames(spec_.window_samples);
  spec_.local_speakers = segmentation_->num_speakers();
  spec_.timing.first_start_s = segmentation_->frame_start_s(0);
  spec_.timing.step_s = segmentation_->frame_step_s();
  spec_.timing.duration_s = segmentation_->frame_duration_s();
}

Diarizer Diarizer::load(const std::filesystem::path& segmentation,
                        const std::filesystem::path& encoder, ExecContext ctx, bool bf16_lstm) {
  return Diarizer(models::PyannoteSegmentation::load(segmentation, ctx.device, bf16_lstm),
                  models::SpeakerEncoder::load(encoder, ctx.device, bf16_lstm), ctx);
}

SegmentFn Diarizer::segment_fn() const {
  return [this](std::span<const float> audio, int64_t step, int count) {
    Tensor out = segmentation_->forward_sliding(ctx_, audio, step, count);
    if (!out.device().is_cpu()) out = out.to(Device::cpu());
    if (out.rank() != 3) throw ModelError("diarizer: segmentation output is not [B, frames, S]");
    Array3 scores(static_cast<int>(out.dim(0)), static_cast<int>(out.dim(1)),
                  static_cast<int>(out.dim(2)));
    scores.data = out.to_vector();
    return scores;
  };
}

EmbedFn Diarizer::embed_fn() const {
  return [this](const std::vector<std::span<const float>>& excerpts) {
    return encoder_->embed_batch(ctx_, excerpts);
  };
}

std::vector<SpeakerTurn> Diarizer::run(std::span<const float> audio16k,
                                       const DiarizeOptions& options, DiarizeStats* stats) const {
  return diarize(audio16k, spec_, segment_fn(), embed_fn(), options, stats);
}

}  // namespace voiceman::diarize
