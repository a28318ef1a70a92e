#pragma once
// voiceman-dev commands for the GPU check's transcript parity: int8 re-quantisation of a
// model folder, media to WAV, and WAV transcription on a chosen device.
#include "flags.h"

namespace voiceman::dev {

int cmd_requantize(const Flags& flags);
int cmd_wav(const Flags& flags);
int cmd_transcribe(const Flags& flags);

}  // namespace voiceman::dev
