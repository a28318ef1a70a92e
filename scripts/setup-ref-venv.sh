#!/usr/bin/env bash
# Creates .venv-ref: the reference implementations (faster-whisper 1.2.1 and friends,
# pinned in tools/reference/requirements.txt) for the parity tests and the benchmarks.
# Python is never part of the product. Idempotent: a venv whose stamp matches the
# requirements file and whose imports work is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${VOICEMAN_REF_VENV:-$root/.venv-ref}"
req="$root/tools/reference/requirements.txt"
stamp="$venv/.voiceman-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

check() {
  "$venv/bin/python" -c "import faster_whisper, ctranslate2, jiwer, numpy, pytest" 2>/dev/null
}

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && check; then
  echo "setup-ref-venv: $venv is ready"
  exit 0
fi

python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-ref-venv: creating $venv with $($python --version 2>&1)"
  "$python" -m venv "$venv"
fi
echo "setup-ref-venv: installing $(grep -cv '^\s*\(#\|$\)' "$req") pinned packages"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" </dev/null
check || { echo "setup-ref-venv: the reference packages do not import" >&2; exit 1; }
echo "$want" > "$stamp"
"$venv/bin/python" -c "import faster_whisper, ctranslate2; print('setup-ref-venv: faster-whisper', faster_whisper.__version__, '/ ctranslate2', ctranslate2.__version__)"
