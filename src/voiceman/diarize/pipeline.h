#pragma once
// The diarization pipeline on abstract models, so it can be tested on synthetic "models":
//   1. segmentation over sliding windows -> per-window local speaker scores;
//   2. hysteresis binarisation, overlap-add speaker count per frame;
//   3. one embedding per (embedded window, local speaker), on that speaker's clean speech;
//   4. clustering of the confident embeddings, constrained assignment of all of them;
//   5. reconstruction: the `count` most active clusters per frame -> SpeakerTurns.
// diarize::Diarizer plugs the segmentation model and the speaker encoder in.
#include <functional>
#include <span>
#include <vector>

#include "voiceman/core/transcript.h"
#include "voiceman/diarize/activity.h"
#include "voiceman/diarize/clustering.h"
#include "voiceman/diarize/options.h"

namespace voiceman::diarize {

// What the pipeline needs to know of the segmentation model.
struct SegmenterSpec {
  int sample_rate = 16000;
  int64_t window_samples = 0;  // the model's input length
  int frames_per_window = 0;   // its output frames for one window
  int local_speakers = 0;      // its output speakers per window
  FrameTiming timing;          // where those frames lie in the window
};

// Scores [count, frames_per_window, local_speakers] in [0, 1] for the windows
// [i * step, i * step + window_samples) of `audio`, i < count (zeros past its end).
using SegmentFn = std::function<Array3(std::span<const float> audio, int64_t step, int count)>;
// One embedding per excerpt (all of the same dimension).
using EmbedFn =
    std::function<std::vector<Embedding>(const std::vector<std::span<const float>>& excerpts)>;

// What one run did, for logs and the dev tool's JSON.
struct DiarizeStats {
  int windows = 0;              // segmentation windows
  int embedded_windows = 0;     // windows whose local speakers were embedded
  int embeddings = 0;           // (window, local speaker) embeddings computed
  int clustered = 0;            // of which clustered (the rest were assigned afterwards)
  int speakers = 0;             // speakers found
  double embedded_audio_s = 0;  // audio passed to the encoder
  double segmentation_s = 0;    // wall seconds per stage
  double embedding_s = 0;
  double clustering_s = 0;
  double total_s = 0;
};

// Diarizes 16 kHz mono audio (spec.sample_rate). Throws ConfigError on invalid options.
std::vector<SpeakerTurn> diarize(std::span<const float> audio, const SegmenterSpec& spec,
                                 const SegmentFn& segment, const EmbedFn& embed,
                                 const DiarizeOptions& options, DiarizeStats* stats = nullptr);

// One (window, local speaker) excerpt to embed: the samples of its speech, without the
// frames where another local speaker is active when enough clean speech remains.
struct Excerpt {
  int window = 0;
  int speaker = 0;
  std::vector<float> samples;
  bool confident = false;  // enough clean speech to take part in the clustering
};

// Step 3's selection for one window (exposed for tests): `binary` is the window's
// binarised activity [frames, local speakers] as row w of a [W, F, S] array; frames at or
// after `valid_frames` lie past the end of the audio.
std::vector<Excerpt> select_excerpts(std::span<const float> audio, int64_t window_start,
                                     const Array3& binary, int w, int valid_frames,
                                     const SegmenterSpec& spec, const DiarizeOptions& options);

}  // namespace voiceman::diarize
