#!/usr/bin/env bash
# Creates .venv-bench: the peers that bench/corpus.sh measures voiceman against.
#   - faster-whisper / CTranslate2 / av / numpy / jiwer at the same pins as the reference venv
#     (tools/reference/requirements.txt), so the faster-whisper figures of the corpus
#     benchmark and of the parity tests come from the same code (tokenizers moves to 0.22
#     when WhisperX is installed, see below);
#   - WhisperX (pinned below) with torch from PyPI, when it installs. It is optional: if pip
#     fails, the reason is kept in .venv-bench/whisperx-status.txt and bench/corpus.sh prints it
#     instead of a WhisperX row. PyPI only has the CUDA-enabled torch wheel for Linux (the
#     CPU-only build lives on another index this project does not use), so this is a few GB.
# Python is never part of the product. Idempotent: a venv whose stamp matches this script and
# the requirements file is left alone (a failed WhisperX install too: delete the stamp file
# .venv-bench/.voiceman-bench.sha256 to try it again).
#   bash scripts/setup-bench-venv.sh [--no-whisperx]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv="${VOICEMAN_BENCH_VENV:-$root/.venv-bench}"
req="$root/tools/reference/requirements.txt"
whisperx_pin="whisperx==3.8.6"
with_whisperx=1
[ "${1:-}" = "--no-whisperx" ] && with_whisperx=0
stamp="$venv/.voiceman-bench.sha256"
want=$(cat "$req" "$0" | sha256sum | cut -d' ' -f1)-$with_whisperx
status_file="$venv/whisperx-status.txt"

check() {
  "$venv/bin/python" -c "import faster_whisper, ctranslate2, jiwer, numpy" 2>/dev/null
}

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && check; then
  echo "setup-bench-venv: $venv is ready ($(head -n1 "$status_file" 2>/dev/null || echo 'no WhisperX'))"
  exit 0
fi

python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  echo "setup-bench-venv: creating $venv with $($python --version 2>&1)"
  "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
echo "setup-bench-venv: installing the faster-whisper pins of $req"
"${pip[@]}" -r "$req" </dev/null
check || { echo "setup-bench-venv: faster-whisper does not import" >&2; exit 1; }

if [ "$with_whisperx" = 1 ]; then
  echo "setup-bench-venv: installing $whisperx_pin (torch from PyPI; a few GB, may take a while)"
  log="$venv/whisperx-install.log"
  # The reference pins are constraints, so WhisperX cannot move the engine under test
  # (faster-whisper, CTranslate2, av, numpy), except tokenizers: every transformers release
  # that WhisperX accepts needs tokenizers < 0.22, and only text detokenising uses it.
  constraints="$venv/whisperx-constraints.txt"
  grep -v '^tokenizers' "$req" >"$constraints"
  if "${pip[@]}" -c "$constraints" "$whisperx_pin" </dev/null >"$log" 2>&1 &&
    "$venv/bin/python" -c "import whisperx" >>"$log" 2>&1; then
    echo "installed $whisperx_pin" >"$status_file"
  else
    # Keep the last error line first (what corpus.sh prints), the log tail after it.
    { echo "not installed: $(grep -E 'ERROR|Error|error' "$log" | tail -n1 || tail -n1 "$log")"
      tail -n 20 "$log"; } >"$status_file"
    echo "setup-bench-venv: WhisperX did not install; see $status_file" >&2
  fi
else
  echo "not installed: skipped (--no-whisperx)" >"$status_file"
fi
echo "$want" >"$stamp"
echo "setup-bench-venv: ready ($(head -n1 "$status_file"))"
