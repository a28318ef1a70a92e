#include "voiceman/diarize/options.h"

#include <string>

#include "voiceman/core/errors.h"

namespace voiceman::diarize {
namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw ConfigError("diarization option " + what);
}

}  // namespace

void validate(const DiarizeOptions& o) {
  require(o.num_speakers >= 0, "num_speakers must be >= 0 (0 = estimate)");
  require(o.min_speakers >= 1, "min_speakers must be >= 1");
  require(o.max_speakers >= 0, "max_speakers must be >= 0 (0 = unbounded)");
  require(o.max_speakers == 0 || o.max_speakers >= o.min_speakers,
          "max_speakers (" + std::to_string(o.max_speakers) + ") is below min_speakers (" +
              std::to_string(o.min_speakers) + ")");
  require(o.num_speakers == 0 || o.num_speakers >= o.min_speakers,
          "num_speakers is below min_speakers");
  require(o.num_speakers == 0 || o.max_speakers == 0 || o.num_speakers <= o.max_speakers,
          "num_speakers is above max_speakers");
  require(o.segmentation_step > 0 && o.segmentation_step <= 1,
          "segmentation_step must be in (0, 1] (a fraction of the window)");
  require(o.embedding_step >= o.segmentation_step && o.embedding_step <= 1,
          "embedding_step must be in [segmentation_step, 1]");
  require(o.segmentation_batch_size >= 1, "segmentation_batch_size must be >= 1");
  require(o.embedding_batch_size >= 1, "embedding_batch_size must be >= 1");
  require(o.onset > 0 && o.onset < 1, "onset must be in (0, 1)");
  require(o.offset > 0 && o.offset <= o.onset, "offset must be in (0, onset]");
  require(o.min_clean_speech_s >= 0, "min_clean_speech_s must be >= 0");
  require(o.min_embedding_speech_s > 0, "min_embedding_speech_s must be > 0");
  require(o.min_active_ratio >= 0 && o.min_active_ratio <= 1, "min_active_ratio must be in [0, 1]");
  require(o.clustering_threshold > 0 && o.clustering_threshold < 2,
          "clustering_threshold must be in (0, 2) (a cosine distance)");
  require(o.min_cluster_size >= 1, "min_cluster_size must be >= 1");
  require(o.max_clustered_embeddings >= 2, "max_clustered_embeddings must be >= 2");
  require(o.min_duration_on >= 0, "min_duration_on must be >= 0");
  require(o.min_duration_off >= 0, "min_duration_off must be >= 0");
}

}  // namespace voiceman::diarize
