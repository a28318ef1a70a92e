#pragma once
// From frame-level activity of the global speakers to SpeakerTurns, and the labels
// SPEAKER_00, SPEAKER_01... given in order of first appearance.
#include <string>
#include <vector>

#include "voiceman/core/transcript.h"
#include "voiceman/diarize/activity.h"

namespace voiceman::diarize {

// "SPEAKER_00" for 0; two digits at least, as pyannote writes them.
std::string speaker_label(int index);

// Turns of each speaker column of `activity` [1, T, K] (0/1): a run of active frames
// [a, b) spans [centre(a) - step/2, centre(b - 1) + step/2], clipped to [0, duration_s].
// Within one speaker, gaps shorter than min_duration_off are filled first, then turns
// shorter than min_duration_on are dropped (pyannote's Binarize order). Overlapping turns
// of different speakers are kept. Speakers are labelled by first appearance and the turns
// sorted by start (then speaker).
std::vector<SpeakerTurn> activity_to_turns(const Array3& activity, const FrameTiming& timing,
                                           double duration_s, double min_duration_on,
                                           double min_duration_off);

// Renames the speakers of `turns` to SPEAKER_00... in order of first appearance (earliest
// start; ties by the old name) and sorts them by start.
void relabel_by_first_appearance(std::vector<SpeakerTurn>& turns);

}  // namespace voiceman::diarize
