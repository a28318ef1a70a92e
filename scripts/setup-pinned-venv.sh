#!/usr/bin/env bash
# Creates a Python venv from a pinned requirements file, for the reference oracles and the
# benchmarks; Python is never part of the product. Idempotent: a venv whose stamp matches
# the requirements file and whose imports work is left alone. Used by setup-ref-venv.sh and
# setup-diar-venv.sh.
#   setup-pinned-venv.sh NAME VENV REQUIREMENTS MODULES VERSIONS [NOTE]
# MODULES: comma-separated modules that must import; VERSIONS: Python code printing the
# main packages' versions; NOTE: appended to the install message.
set -euo pipefail
name=$1 venv=$2 req=$3 modules=$4 versions=$5 note=${6:-}
stamp="$venv/.voiceman-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)

check() {
  "$venv/bin/python" -c "import $modules" 2>/dev/null
}

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && check; then
  echo "$name: $venv is ready"
  exit 0
fi

python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  echo "$name: creating $venv with $($python --version 2>&1)"
  "$python" -m venv "$venv"
fi
echo "$name: installing $(grep -cv '^\s*\(#\|$\)' "$req") pinned packages$note"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" </dev/null
check || { echo "$name: the reference packages do not import" >&2; exit 1; }
echo "$want" > "$stamp"
echo "$name: $("$venv/bin/python" -c "$versions")"
