#pragma once
// A small frame-based diarization error rate for tests (10 ms frames): (missed + false
// alarm + confusion) / reference speech, with the best one-to-one speaker mapping found by
// trying every permutation (fine for the few speakers of a test). Overlap is scored like
// pyannote.metrics: per frame, missed = max(0, ref - hyp), false alarm = max(0, hyp - ref),
// confusion = min(ref, hyp) - correctly mapped. `collar` is pyannote.metrics' collar: the
// total width not scored around every reference boundary (collar / 2 on each side).
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "voiceman/core/transcript.h"

namespace voiceman::testing {

inline double diarization_error_rate(const std::vector<SpeakerTurn>& ref,
                                     const std::vector<SpeakerTurn>& hyp, double collar = 0) {
  const double step = 0.01;
  double end = 0;
  for (const auto& t : ref) end = std::max(end, t.end);
  for (const auto& t : hyp) end = std::max(end, t.end);
  const int frames = static_cast<int>(end / step) + 1;
  std::map<std::string, int> rid, hid;
  for (const auto& t : ref) rid.try_emplace(t.speaker, static_cast<int>(rid.size()));
  for (const auto& t : hyp) hid.try_emplace(t.speaker, static_cast<int>(hid.size()));
  const int nr = static_cast<int>(rid.size()), nh = static_cast<int>(hid.size());
  auto grid = [&](const std::vector<SpeakerTurn>& turns, std::map<std::string, int>& ids, int n) {
    std::vector<std::vector<char>> g(frames, std::vector<char>(n, 0));
    for (const auto& t : turns)
      for (int f = 0; f < frames; ++f) {
        const double c = (f + 0.5) * step;
        if (c >= t.start && c < t.end) g[f][ids[t.speaker]] = 1;
      }
    return g;
  };
  const auto r = grid(ref, rid, nr), h = grid(hyp, hid, nh);
  std::vector<char> scored(frames, 1);
  if (collar > 0)
    for (const auto& t : ref)
      for (double b : {t.start, t.end})
        for (int f = 0; f < frames; ++f)
          if (std::abs((f + 0.5) * step - b) < collar / 2) scored[f] = 0;
  // Best mapping: hyp speaker j -> ref speaker perm[j] (extra ids map to nothing).
  const int n = std::max(nr, nh);
  std::vector<int> perm(n);
  std::iota(perm.begin(), perm.end(), 0);
  double total = 0, base_error = 0;
  std::vector<std::vector<double>> co(nh, std::vector<double>(nr, 0));
  for (int f = 0; f < frames; ++f) {
    if (!scored[f]) continue;
    int cr = 0, ch = 0;
    for (int i = 0; i < nr; ++i) cr += r[f][i];
    for (int j = 0; j < nh; ++j) ch += h[f][j];
    total += cr;
    base_error += std::max(cr, ch);  // minus the correct ones below
    for (int j = 0; j < nh; ++j)
      for (int i = 0; i < nr; ++i) co[j][i] += h[f][j] && r[f][i];
  }
  double best_correct = 0;
  do {
    double c = 0;
    for (int j = 0; j < nh; ++j)
      if (perm[j] < nr) c += co[j][perm[j]];
    best_correct = std::max(best_correct, c);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return total > 0 ? (base_error - best_correct) / total : 0;
}

}  // namespace voiceman::testing
