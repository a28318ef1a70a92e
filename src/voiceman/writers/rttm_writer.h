#pragma once
// NIST RTTM speaker turns ("SPEAKER file 1 start dur <NA> <NA> spk <NA> <NA>"), the
// format pyannote and the diarization scorers read.
#include <string>
#include <string_view>
#include <vector>

#include "voiceman/core/transcript.h"

namespace voiceman::writers {

// RTTM fields are space separated, so spaces in the file id become '_'.
std::string rttm_file_id(std::string_view name);

std::string to_rttm(std::string_view file_id, const std::vector<SpeakerTurn>& turns);

// Reads the SPEAKER lines of an RTTM text (other record types are ignored); throws
// Error naming the line on a malformed SPEAKER record.
std::vector<SpeakerTurn> parse_rttm(std::string_view text);

}  // namespace voiceman::writers
