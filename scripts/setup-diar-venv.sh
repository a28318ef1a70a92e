#!/usr/bin/env bash
# Creates .venv-diar: the diarization reference packages (pyannote.audio, resemblyzer,
# pyannote.metrics, torch from PyPI), pinned in tests/parity_diarization/requirements.txt,
# for the diarization parity test and the DER bench. Python is never part of the product.
# Idempotent: a venv whose stamp matches the requirements file and whose imports work is
# left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${VOICEMAN_DIAR_VENV:-$root/.venv-diar}"
req="$root/tests/parity_diarization/requirements.txt"
stamp="$venv/.voiceman-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

check() {
  "$venv/bin/python" -c "import torch, pyannote.audio, pyannote.metrics, resemblyzer, numpy, pytest" \
    2>/dev/null
}

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && check; then
  echo "setup-diar-venv: $venv is ready"
  exit 0
fi

python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-diar-venv: creating $venv with $($python --version 2>&1)"
  "$python" -m venv "$venv"
fi
echo "setup-diar-venv: installing $(grep -cv '^\s*\(#\|$\)' "$req") pinned packages (torch is large)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" </dev/null
check || { echo "setup-diar-venv: the reference packages do not import" >&2; exit 1; }
echo "$want" > "$stamp"
"$venv/bin/python" -c "import torch, pyannote.audio; print('setup-diar-venv: torch', torch.__version__, '/ pyannote.audio', pyannote.audio.__version__)"
