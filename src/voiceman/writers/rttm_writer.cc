#include "voiceman/writers/rttm_writer.h"

#include <cstdio>
#include <sstream>

#include "voiceman/core/errors.h"

namespace voiceman::writers {

std::string rttm_file_id(std::string_view name) {
  std::string id(name);
  for (char& c : id)
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') c = '_';
  return id.empty() ? "audio" : id;
}

std::string to_rttm(std::string_view file_id, const std::vector<SpeakerTurn>& turns) {
  const std::string id = rttm_file_id(file_id);
  std::string out;
  for (const SpeakerTurn& t : turns) {
    char times[64];
    std::snprintf(times, sizeof times, "%.3f %.3f", t.start, t.end - t.start);
    out +=
        "SPEAKER " + id + " 1 " + times + " <NA> <NA> " + rttm_file_id(t.speaker) + " <NA> <NA>\n";
  }
  return out;
}

std::vector<SpeakerTurn> parse_rttm(std::string_view text) {
  std::vector<SpeakerTurn> turns;
  std::istringstream lines{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::istringstream fields(line);
    std::string type, file, channel, start, duration, ortho, stype, speaker;
    if (!(fields >> type) || type != "SPEAKER") continue;
    if (!(fields >> file >> channel >> start >> duration >> ortho >> stype >> speaker))
      throw Error("RTTM line " + std::to_string(number) + ": too few fields");
    try {
      SpeakerTurn turn;
      turn.start = std::stod(start);
      turn.end = turn.start + std::stod(duration);
      turn.speaker = speaker;
      turns.push_back(std::move(turn));
    } catch (const std::exception&) {
      throw Error("RTTM line " + std::to_string(number) + ": bad start or duration");
    }
  }
  return turns;
}

}  // namespace voiceman::writers
