#include "voiceman/diarize/turns.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace voiceman::diarize {

std::string speaker_label(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "SPEAKER_%02d", index);
  return buf;
}

std::vector<SpeakerTurn> activity_to_turns(const Array3& activity, const FrameTiming& timing,
                                           double duration_s, double min_duration_on,
                                           double min_duration_off) {
  std::vector<SpeakerTurn> turns;
  for (int k = 0; k < activity.c; ++k) {
    std::vector<SpeakerTurn> mine;
    int t = 0;
    while (t < activity.b) {
      if (activity.at(0, t, k) <= 0) {
        ++t;
        continue;
      }
      const int a = t;
      while (t < activity.b && activity.at(0, t, k) > 0) ++t;
      SpeakerTurn turn;
      turn.start = std::max(0.0, timing.center_s(a) - timing.step_s / 2);
      turn.end = std::min(duration_s, timing.center_s(t - 1) + timing.step_s / 2);
      turn.speaker = std::to_string(k);
      if (turn.end > turn.start) mine.push_back(std::move(turn));
    }
    // Fill short gaps, then drop short turns.
    std::vector<SpeakerTurn> merged;
    for (SpeakerTurn& turn : mine) {
      if (!merged.empty() && turn.start - merged.back().end < min_duration_off)
        merged.back().end = turn.end;
      else
        merged.push_back(std::move(turn));
    }
    for (SpeakerTurn& turn : merged)
      if (turn.end - turn.start >= min_duration_on) turns.push_back(std::move(turn));
  }
  relabel_by_first_appearance(turns);
  return turns;
}

void relabel_by_first_appearance(std::vector<SpeakerTurn>& turns) {
  std::stable_sort(turns.begin(), turns.end(), [](const SpeakerTurn& x, const SpeakerTurn& y) {
    return x.start != y.start ? x.start < y.start : x.speaker < y.speaker;
  });
  std::map<std::string, std::string> names;
  for (SpeakerTurn& turn : turns) {
    auto [it, added] = names.try_emplace(turn.speaker, "");
    if (added) it->second = speaker_label(static_cast<int>(names.size()) - 1);
    turn.speaker = it->second;
  }
  // Re-sort: equal starts are now ordered by the new labels.
  std::stable_sort(turns.begin(), turns.end(), [](const SpeakerTurn& x, const SpeakerTurn& y) {
    return x.start != y.start ? x.start < y.start : x.speaker < y.speaker;
  });
}

}  // namespace voiceman::diarize
