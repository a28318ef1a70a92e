#pragma once
// faster-whisper's word-level post-processing: merge_punctuations and the adjustments of
// add_word_timestamps (long words clipped at sentence and segment boundaries, segment
// start/end snapped to their words, last_speech_timestamp carried across segments).
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "voiceman/decoding/alignment.h"
#include "voiceman/decoding/segments.h"

namespace voiceman::decoding {

inline constexpr std::string_view kPrependPunctuations = "\"'\u201c\u00bf([{-";
inline constexpr std::string_view kAppendPunctuations =
    "\"'.\u3002,\uff0c!\uff01?\uff1f:\uff1a\u201d)]}\u3001";
inline constexpr std::string_view kSentenceEndMarks = ".\u3002!\uff01?\uff1f";

// Moves a word made of a prepended punctuation (" (", " \"") onto the following word and an
// appended one (".", ",") onto the previous word. Merged-away entries stay, with an empty word
// and no tokens, like in faster-whisper.
void merge_punctuations(std::vector<WordTiming>& alignment, std::string_view prepended,
                        std::string_view appended);

// Python's round(x, 2) (correctly rounded, ties to even on the exact binary value).
double round2(double x);

struct WordTimestampsResult {
  std::vector<std::vector<WordTiming>> words;  // per segment; times absolute, rounded to 0.01 s
  double last_speech_timestamp = 0;
};

// add_word_timestamps for one window. segments: the window's split (start/end are updated in
// place); alignment: find_alignment() over the concatenated text tokens (< eot) of all of
// them; time_offset: the window's seek / 100.
WordTimestampsResult add_word_timestamps(std::span<SegmentTokens> segments,
                                         std::vector<WordTiming> alignment, double time_offset,
                                         int32_t eot, double last_speech_timestamp,
                                         std::string_view prepended = kPrependPunctuations,
                                         std::string_view appended = kAppendPunctuations);

}  // namespace voiceman::decoding
