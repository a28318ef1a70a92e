#pragma once
// Transcript <-> JSON, shaped like WhisperX's output (segments with words) plus the
// faster-whisper segment fields.
#include <nlohmann/json.hpp>

#include "voiceman/core/transcript.h"

namespace voiceman::writers {

nlohmann::json to_json(const Transcript& transcript);

// "[mm:ss.mmm --> mm:ss.mmm] text" lines, as the transcribe command prints them.
std::string format_timestamp(double seconds, bool always_hours = false, char decimal = '.');

}  // namespace voiceman::writers
