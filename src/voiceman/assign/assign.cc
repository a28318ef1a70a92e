#include "voiceman/assign/assign.h"

#include <algorithm>
#include <limits>
#include <map>

namespace voiceman::assign {

std::string speaker_for(double start, double end, const std::vector<SpeakerTurn>& turns) {
  std::map<std::string, double> overlap;  // ordered: ties go to the first label
  const SpeakerTurn* nearest = nullptr;
  double nearest_gap = std::numeric_limits<double>::infinity();
  for (const SpeakerTurn& t : turns) {
    const double o = std::min(end, t.end) - std::max(start, t.start);
    if (o > 0) overlap[t.speaker] += o;
    // Gap between the intervals (<= 0 when they touch or one contains the other).
    const double gap = std::max(t.start - end, start - t.end);
    if (gap < nearest_gap || (gap == nearest_gap && nearest && t.start < nearest->start))
      nearest = &t, nearest_gap = gap;
  }
  if (!overlap.empty()) {
    auto best = overlap.begin();
    for (auto it = overlap.begin(); it != overlap.end(); ++it)
      if (it->second > best->second) best = it;
    return best->first;
  }
  return nearest ? nearest->speaker : std::string();
}

void assign_speakers(Transcript& transcript, const std::vector<SpeakerTurn>& turns) {
  transcript.speaker_turns = turns;
  for (Segment& s : transcript.segments) {
    s.speaker.reset();
    if (!turns.empty()) s.speaker = speaker_for(s.start, s.end, turns);
    for (Word& w : s.words) {
      w.speaker.reset();
      if (!turns.empty()) w.speaker = speaker_for(w.start, w.end, turns);
    }
  }
}

std::vector<SpeakerSummary> summarize_speakers(const Transcript& transcript) {
  std::vector<SpeakerTurn> order = transcript.speaker_turns;
  std::stable_sort(order.begin(), order.end(),
                   [](const SpeakerTurn& x, const SpeakerTurn& y) { return x.start < y.start; });
  std::vector<SpeakerSummary> out;
  std::map<std::string, size_t> index;
  for (const SpeakerTurn& t : order) {
    auto [it, added] = index.try_emplace(t.speaker, out.size());
    if (added) out.push_back({t.speaker});
    out[it->second].seconds += std::max(0.0, t.end - t.start);
  }
  for (const Segment& s : transcript.segments) {
    if (s.speaker) {
      auto it = index.find(*s.speaker);
      if (it != index.end()) ++out[it->second].segments;
    }
    for (const Word& w : s.words) {
      if (!w.speaker) continue;
      auto it = index.find(*w.speaker);
      if (it != index.end()) ++out[it->second].words;
    }
  }
  return out;
}

}  // namespace voiceman::assign
