#!/usr/bin/env bash
# The one command that builds voiceman and runs its main job on a small demo corpus:
#   bash scripts/demo.sh
# Uses clips from ../shared/data when it is there, else speaks a few sentences with
# espeak-ng. Runs the main job, `voiceman run`, over them into out/demo/ (transcripts in
# .json/.srt/.vtt/.txt, manifest.json with hashes and versions), prints the text, then
# checks the originals and outputs against the manifest with `voiceman verify`.
# Environment: BUILD_DIR (default build), VOICEMAN_MODEL (default models/tiny.en).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
model=${VOICEMAN_MODEL:-models/tiny.en}
out=out/demo
bin=${VOICEMAN_BIN:-$build/src/voiceman}  # override only to try the script with another binary
data=../shared/data

extra=()
[ -f "$data/manifest.json" ] || extra=(espeak-ng)
bash scripts/install-deps.sh "${extra[@]}"
VOICEMAN_SKIP_BASE=${VOICEMAN_SKIP_BASE:-1} bash scripts/fetch-models.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$build" voiceman

rm -rf "$out" "$out-input" && mkdir -p "$out-input"
clips=()
if [ -f "$data/manifest.json" ]; then
  echo "demo: clips from $data"
  for f in jfk.flac sample.wav multilingual/leopard_test.wav \
           librispeech_test-other/1688/1688-142285-0000.flac lhotse/ES2011a.Headset-0-40s-46s.wav; do
    [ -f "$data/$f" ] && clips+=("$data/$f")
  done
else
  echo "demo: $data is missing; speaking demo clips with espeak-ng"
  i=0
  while IFS= read -r line; do
    i=$((i + 1))
    # Outside OUT: voiceman refuses inputs inside its output folder.
    espeak-ng -v en-us -s 150 -w "$out-input/spoken-$i.wav" "$line"
    clips+=("$out-input/spoken-$i.wav")
  done <<'TEXT'
And so my fellow Americans, ask not what your country can do for you.
The quick brown fox jumps over the lazy dog.
Voiceman transcribes recordings on this machine, with no network.
TEXT
fi

# The main job: every clip hashed, transcribed and written atomically under $out.
rc=0
"$bin" run "${clips[@]}" -o "$out" --model "$model" || rc=$?
echo
for f in "${clips[@]}"; do
  txt="$out/transcripts/$(basename "$f").txt"
  [ -f "$txt" ] && printf '%-32s %s\n' "$(basename "$f")" "$(tr '\n' ' ' <"$txt")"
done
echo
"$bin" verify "$out" || rc=$?
echo
echo "demo: results are in $root/$out/"
echo "  transcripts:  $root/$out/transcripts/<clip>.{json,srt,vtt,txt}"
echo "  custody:      $root/$out/manifest.json (check again with: $bin verify $out)"
echo "  failures:     $root/$out/failed_files.json"
exit "$rc"
