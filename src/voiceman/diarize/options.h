#pragma once
// Diarization options (pyannote's SpeakerDiarization hyper-parameters, adapted to the
// whisperx segmentation checkpoint and the resemblyzer encoder). validate() is the one
// place they are checked; every field is used by diarize::Diarizer.
namespace voiceman::diarize {

struct DiarizeOptions {
  int num_speakers = 0;  // > 0 forces exactly this many speakers (0 = estimate)
  int min_speakers = 1;  // lower bound on the estimated count
  int max_speakers = 0;  // upper bound on the estimated count (0 = unbounded)

  // Sliding-window step, as a fraction of the window. Each frame is seen by 1/step windows;
  // their vote sets how many speakers are active per frame (pyannote's default 0.1).
  double segmentation_step = 0.1;
  // Step between the windows whose local speakers are embedded and clustered, as a
  // fraction of the window (a multiple of segmentation_step; rounded to one). The other
  // windows only vote on how many speakers are active per frame: embeddings cost far more
  // than segmentation, so this is the main speed/accuracy knob.
  double embedding_step = 0.3;
  int segmentation_batch_size = 32;  // windows per segmentation forward pass
  int embedding_batch_size = 32;     // excerpts per embed_batch call (a window is never split)

  double onset = 0.5;   // a local speaker turns on when its probability rises above this
  double offset = 0.5;  // ...and off when it falls below this (hysteresis: offset <= onset)

  // Embeddings: a local speaker is embedded on its speech without overlapped frames when at
  // least this much clean speech remains, on all its speech otherwise.
  double min_clean_speech_s = 1.0;
  // Local speakers with less speech than this in a window are not embedded: too short to
  // identify. They are left out of the reconstruction of that window.
  double min_embedding_speech_s = 0.25;
  // Only embeddings with at least this share of the window as clean speech are clustered;
  // the others (short or mostly overlapped: uncertain) join the nearest cluster afterwards
  // instead of forming their own.
  double min_active_ratio = 0.2;

  // Agglomerative clustering (average linkage over cosine distance): clusters closer than
  // this are merged.
  double clustering_threshold = 0.25;
  // Clusters with fewer clustered embeddings than this are not speakers of their own: they
  // are merged into the nearest large cluster (capped at 10% of the embeddings, at least 1).
  int min_cluster_size = 6;
  // At most this many embeddings are clustered (a uniform subsample of longer files); the
  // others are assigned to the nearest centroid. Bounds memory (N^2/2 floats) and time.
  int max_clustered_embeddings = 4000;

  double min_duration_on = 0.0;   // speaker turns shorter than this are dropped (s)
  double min_duration_off = 0.0;  // gaps shorter than this within a speaker are filled (s)
};

// Throws ConfigError naming the offending option.
void validate(const DiarizeOptions& options);

}  // namespace voiceman::diarize
