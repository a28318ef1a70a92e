#!/usr/bin/env bash
# Creates .venv-diar: the diarization reference packages (pyannote.audio, resemblyzer,
# pyannote.metrics, torch from PyPI), pinned in tests/parity_diarization/requirements.txt,
# for the diarization parity test and the DER bench. Python is never part of the product.
# Idempotent (scripts/setup-pinned-venv.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
exec bash "$root/scripts/setup-pinned-venv.sh" setup-diar-venv \
  "${VOICEMAN_DIAR_VENV:-$root/.venv-diar}" "$root/tests/parity_diarization/requirements.txt" \
  "torch, pyannote.audio, pyannote.metrics, resemblyzer, numpy, pytest" \
  "import torch, pyannote.audio; print('torch', torch.__version__, '/ pyannote.audio', pyannote.audio.__version__)" \
  " (torch is large)"
