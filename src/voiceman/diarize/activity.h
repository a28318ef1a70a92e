#pragma once
// Frame-level speaker activity: the sliding-window geometry, hysteresis binarisation of the
// segmentation model's per-window scores, their overlap-add aggregation onto one frame grid
// for the whole recording, the per-frame speaker count and the reconstruction that keeps
// the `count` most active speakers of each frame. Pure arithmetic, tested on hand-made
// activations; diarize::Diarizer feeds it the models' outputs.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace voiceman::diarize {

// Windows of `window` samples every `step` samples; the last one may run past the end
// (the model sees zeros there). A recording shorter than a window gets one window.
struct SlidingWindows {
  int64_t num_samples = 0;
  int64_t window = 0;
  int64_t step = 0;
  int count = 0;

  static SlidingWindows make(int64_t num_samples, int64_t window, int64_t step);
  int64_t start(int w) const { return static_cast<int64_t>(w) * step; }
};

// The segmentation model's output frames. Window-local frame f covers
// [first_start_s + f * step_s, ... + duration_s) from the window's start; the global grid
// is window 0's grid continued over the whole recording.
struct FrameTiming {
  double first_start_s = 0;
  double step_s = 0;
  double duration_s = 0;

  double center_s(int64_t frame) const { return first_start_s + frame * step_s + duration_s / 2; }
  // Global frame nearest to window-local frame 0 of a window starting at `window_start_s`.
  int64_t offset_of(double window_start_s) const;
  // Frames of the global grid whose centre lies inside `duration_s` of audio (>= 1).
  int64_t frames_in(double duration_s) const;
};

// A dense [a, b, c] float array, row-major (windows x frames x speakers, or 1 x frames x
// speakers for the global grid).
struct Array3 {
  int a = 0, b = 0, c = 0;
  std::vector<float> data;

  Array3() = default;
  Array3(int a, int b, int c, float fill = 0)
      : a(a), b(b), c(c), data(std::size_t(a) * b * c, fill) {}
  float& at(int i, int j, int k) { return data[(std::size_t(i) * b + j) * c + k]; }
  float at(int i, int j, int k) const { return data[(std::size_t(i) * b + j) * c + k]; }
};

// Hysteresis binarisation of every (window, speaker) track along the frames: on when the
// score rises above `onset`, off again only when it falls below `offset`. Returns 0/1.
Array3 binarize(const Array3& scores, double onset, double offset);

// Overlap-add of per-window frames [W, F, C] onto the global grid [T, C]: window w's local
// frame f lands on global frame offsets[w] + f (frames outside [0, T) are dropped). With
// `average`, each global frame is divided by the number of windows covering it (pyannote's
// aggregation without Hamming weights); otherwise the sums are returned.
// Only windows with include[w] (empty = all) take part.
Array3 aggregate(const Array3& per_window, const std::vector<int64_t>& offsets, int64_t num_frames,
                 bool average, const std::vector<bool>& include = {});

// Speakers active per global frame: the window-averaged number of active local speakers,
// rounded to nearest with halves down, capped at `max_count` (0 = no cap).
std::vector<int> speaker_count(const Array3& binary, const std::vector<int64_t>& offsets,
                               int64_t num_frames, int max_count = 0);

// Frame-level activity of the global speakers [T, K] from their aggregated scores [T, K]:
// in frame t the count[t] speakers with the highest positive score are active (1), ties
// broken by the lower index. Speakers with no score in a frame are never switched on, so
// fewer than count[t] may be active.
Array3 top_speakers(const Array3& aggregated, const std::vector<int>& count);

}  // namespace voiceman::diarize
