#!/usr/bin/env bash
# Creates .venv-ref: the reference implementations (faster-whisper 1.2.1 and friends,
# pinned in tools/reference/requirements.txt) for the parity tests and the benchmarks.
# Python is never part of the product. Idempotent (scripts/setup-pinned-venv.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec bash "$root/scripts/setup-pinned-venv.sh" setup-ref-venv \
  "${VOICEMAN_REF_VENV:-$root/.venv-ref}" "$root/tools/reference/requirements.txt" \
  "faster_whisper, ctranslate2, jiwer, numpy, pytest" \
  "import faster_whisper, ctranslate2; print('faster-whisper', faster_whisper.__version__, '/ ctranslate2', ctranslate2.__version__)"
