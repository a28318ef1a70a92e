#pragma once
// The typed results that flow between stages (asr -> align -> diarize -> assign -> writers).
// Times are seconds from the start of the original recording.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace voiceman {

struct Word {
  std::string word;  // as decoded, with its leading space
  double start = 0;
  double end = 0;
  float probability = 0;
  std::optional<std::string> speaker;
};

struct Segment {
  int id = 0;
  int64_t seek = 0;  // feature frame where the window that produced it started
  double start = 0;
  double end = 0;
  std::string text;
  std::vector<int32_t> tokens;
  float avg_logprob = 0;
  float compression_ratio = 0;
  float no_speech_prob = 0;
  float temperature = 0;
  std::vector<Word> words;  // empty unless word timestamps were asked for
  std::optional<std::string> speaker;
};

struct SpeakerTurn {
  double start = 0;
  double end = 0;
  std::string speaker;
};

struct Transcript {
  std::string language;
  float language_probability = 0;
  double duration = 0;  // seconds of audio
  std::vector<Segment> segments;
  std::vector<SpeakerTurn> speaker_turns;  // empty unless diarized
};

}  // namespace voiceman
