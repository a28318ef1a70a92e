#!/usr/bin/env bash
# Times voiceman's engine against faster-whisper 1.2.1, file by file, on ../shared/data:
# greedy and beam 5, float32 and int8, same model and threads. Prepares what it needs
# (packages, reference venv, models, Release build) and passes its arguments to
# bench/engine.py (see --help there: --clips, --limit, --threads, --configs, ...).
# Writes bench/results/engine-<date>.json and prints a table. Never part of the tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
bash scripts/install-deps.sh >/dev/null
bash scripts/setup-ref-venv.sh >/dev/null
VOICEMAN_SKIP_BASE=${VOICEMAN_SKIP_BASE:-1} PIP="$root/.venv-ref/bin/pip" bash scripts/fetch-models.sh >/dev/null
if [ -z "${VOICEMAN_BIN:-}" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$build" voiceman >/dev/null
fi
exec "$root/.venv-ref/bin/python" bench/engine.py \
  --voiceman-bin "${VOICEMAN_BIN:-$build/src/voiceman}" "$@"
