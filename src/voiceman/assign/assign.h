#pragma once
// Speaker attribution: every word and every segment of a transcript gets the speaker of
// the diarization turns it overlaps most, and a per-speaker summary for the manifest.
#include <string>
#include <vector>

#include "voiceman/core/transcript.h"

namespace voiceman::assign {

// Sets Word::speaker and Segment::speaker and stores `turns` in transcript.speaker_turns.
// A word (or segment) takes the speaker whose turns cover most of [start, end] (overlaps
// of several turns of one speaker add up; ties go to the speaker whose label sorts first).
// When no turn overlaps it (a gap between turns, or a zero-length word) it takes the
// speaker of the nearest turn by time (ties: the earlier turn), so every word gets a
// speaker as long as there is one turn. Without turns, speakers are cleared.
void assign_speakers(Transcript& transcript, const std::vector<SpeakerTurn>& turns);

// The speaker of the interval [start, end] by the rule above ("" without turns).
std::string speaker_for(double start, double end, const std::vector<SpeakerTurn>& turns);

struct SpeakerSummary {
  std::string speaker;
  double seconds = 0;  // total turn duration (overlapping speech counts for each speaker)
  int words = 0;       // words attributed to this speaker
  int segments = 0;    // segments attributed to this speaker
};

// One entry per speaker of transcript.speaker_turns, in order of first appearance.
std::vector<SpeakerSummary> summarize_speakers(const Transcript& transcript);

}  // namespace voiceman::assign
