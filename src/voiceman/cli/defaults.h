#pragma once
// Where the default model lives when --model is not given.
#include <filesystem>
#include <string>

namespace voiceman::cli {

inline constexpr const char* kDefaultModelName = "tiny.en";

// The first existing of: $VOICEMAN_MODELS_DIR/tiny.en, ./models/tiny.en, and models/tiny.en
// beside the source tree the binary was built in (build/src/voiceman -> ../../models).
// Returns ./models/tiny.en when none exists, so the error names a sensible path.
std::filesystem::path default_model_dir();

// The Silero VAD model of batched mode, found the same way.
inline constexpr const char* kDefaultVadModelName = "silero_vad_v6.onnx";
std::filesystem::path default_vad_model();
// The diarization models (models/diarization/...), found the same way.
std::filesystem::path default_segmentation_model();
std::filesystem::path default_speaker_model();

}  // namespace voiceman::cli
