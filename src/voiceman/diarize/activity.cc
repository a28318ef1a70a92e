#include "voiceman/diarize/activity.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "voiceman/core/errors.h"

namespace voiceman::diarize {

SlidingWindows SlidingWindows::make(int64_t num_samples, int64_t window, int64_t step) {
  if (window <= 0 || step <= 0) throw Error("sliding windows need a positive window and step");
  SlidingWindows s;
  s.num_samples = num_samples;
  s.window = window;
  s.step = step;
  if (num_samples <= 0) return s;
  // Enough windows that the last one reaches the end (pyannote pads the last chunk too).
  const int64_t extra = num_samples > window ? (num_samples - window + step - 1) / step : 0;
  s.count = static_cast<int>(extra + 1);
  return s;
}

int64_t FrameTiming::offset_of(double window_start_s) const {
  return static_cast<int64_t>(std::llround(window_start_s / step_s));
}

int64_t FrameTiming::frames_in(double duration) const {
  const double last = (duration - first_start_s - duration_s / 2) / step_s;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(last)));
}

Array3 binarize(const Array3& scores, double onset, double offset) {
  Array3 out(scores.a, scores.b, scores.c);
  for (int w = 0; w < scores.a; ++w) {
    for (int s = 0; s < scores.c; ++s) {
      bool on = false;
      for (int f = 0; f < scores.b; ++f) {
        const float p = scores.at(w, f, s);
        if (on ? p < offset : p > onset) on = !on;
        out.at(w, f, s) = on ? 1.0f : 0.0f;
      }
    }
  }
  return out;
}

Array3 aggregate(const Array3& per_window, const std::vector<int64_t>& offsets, int64_t num_frames,
                 bool average, const std::vector<bool>& include) {
  if (offsets.size() != static_cast<size_t>(per_window.a))
    throw Error("aggregate: one frame offset per window is needed");
  Array3 out(1, static_cast<int>(num_frames), per_window.c);
  std::vector<int> covered(num_frames, 0);
  for (int w = 0; w < per_window.a; ++w) {
    if (!include.empty() && !include[w]) continue;
    for (int f = 0; f < per_window.b; ++f) {
      const int64_t t = offsets[w] + f;
      if (t < 0 || t >= num_frames) continue;
      ++covered[t];
      for (int s = 0; s < per_window.c; ++s) out.at(0, t, s) += per_window.at(w, f, s);
    }
  }
  if (average) {
    for (int64_t t = 0; t < num_frames; ++t)
      if (covered[t] > 1)
        for (int s = 0; s < out.c; ++s) out.at(0, t, s) /= covered[t];
  }
  return out;
}

std::vector<int> speaker_count(const Array3& binary, const std::vector<int64_t>& offsets,
                               int64_t num_frames, int max_count) {
  Array3 sums(binary.a, binary.b, 1);
  for (int w = 0; w < binary.a; ++w)
    for (int f = 0; f < binary.b; ++f)
      for (int s = 0; s < binary.c; ++s) sums.at(w, f, 0) += binary.at(w, f, s);
  const Array3 mean = aggregate(sums, offsets, num_frames, true);
  std::vector<int> count(num_frames);
  for (int64_t t = 0; t < num_frames; ++t) {
    // Halves round down: a speaker counts only when more than half of the windows heard it
    // (rounding 0.5 up adds false alarms at the edges of speech).
    int n = static_cast<int>(std::ceil(mean.at(0, t, 0) - 0.5f));
    count[t] = max_count > 0 ? std::min(n, max_count) : n;
  }
  return count;
}

Array3 top_speakers(const Array3& aggregated, const std::vector<int>& count) {
  const int frames = aggregated.b, speakers = aggregated.c;
  if (count.size() != static_cast<size_t>(frames))
    throw Error("top_speakers: one count per frame is needed");
  Array3 out(1, frames, speakers);
  std::vector<int> order(speakers);
  for (int t = 0; t < frames; ++t) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int x, int y) { return aggregated.at(0, t, x) > aggregated.at(0, t, y); });
    for (int i = 0; i < std::min(count[t], speakers); ++i) {
      if (aggregated.at(0, t, order[i]) <= 0) break;
      out.at(0, t, order[i]) = 1;
    }
  }
  return out;
}

}  // namespace voiceman::diarize
