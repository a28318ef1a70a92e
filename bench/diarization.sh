#!/usr/bin/env bash
# DER of our diarizer against two Python baselines (resemblyzer + agglomerative clustering,
# and pyannote.audio's pipeline on the same whisperx segmentation checkpoint), scored by
# pyannote.metrics at collar 0 and 0.25 s on ../shared/data/sample.wav and ami/*.wav, plus
# our real-time factor. Prepares what it needs (diarization venv, models, Release build of
# voiceman-diarize) and passes its arguments to bench/diarization.py (--systems, --files,
# --threads, --ours-args, ...). Writes bench/results/diarization-<date>.json. Never part of
# the tests; run it on an otherwise idle machine for meaningful timings.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
bash scripts/setup-diar-venv.sh >/dev/null
PIP="$root/.venv-diar/bin/pip" bash scripts/fetch-diarization-models.sh >/dev/null
if [ -z "${VOICEMAN_DIARIZE_BIN:-}" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$build" voiceman-diarize >/dev/null
fi
exec "$root/.venv-diar/bin/python" bench/diarization.py \
  --voiceman-diarize "${VOICEMAN_DIARIZE_BIN:-$build/src/voiceman-diarize}" "$@"
