#!/usr/bin/env bash
# Cross-builds voiceman for 64-bit Arm Linux (the GB10 / DGX Spark's CPU) and runs it under
# qemu-aarch64 on this x86_64 machine: the whole application and its tests compile for
# aarch64 (char is unsigned there, long double is 128-bit, no x86 SIMD clones), with the
# CUDA backend for the GB10's sm_121 when nvcc is here; the unit tests pass under
# emulation; and transcripts made by the aarch64 binaries (voiceman-dev on WAV clips, and
# voiceman run on an original file, asked for CUDA and falling back to the CPU, as there
# is no GPU) agree with the x86_64 ones.
#   bash scripts/aarch64-check.sh          # build, fast unit tests, one-clip transcript
#   bash scripts/aarch64-check.sh full     # also every unit test and more clips (slow)
# Needs root (or sudo) for Debian's cross compiler, qemu-user and arm64 -dev packages
# (multiarch). The CUDA cross-build uses this machine's nvcc with the aarch64 CUDA runtime
# from PyPI (scripts/cuda-sbsa-toolkit.sh); a GB10 builds natively and needs neither.
# Environment: BUILD_DIR (default build), ARM_BUILD_DIR (default build-arm64),
#   AARCH64_CLIPS (clips for the transcript check; default 1, or 8 with "full"),
#   AARCH64_CUDA (auto: on when nvcc is found; on; off),
#   AARCH64_CUDA_ARCHS (default 121-real: the GB10; the x86_64 build covers the others).
set -euo pipefail
trap 'echo "aarch64-check: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mode=${1:-quick}
build=${BUILD_DIR:-build}
arm=${ARM_BUILD_DIR:-build-arm64}
start=$(date +%s)
step() { echo; echo "== aarch64-check: $* ($(( $(date +%s) - start )) s)"; }

step "cross toolchain, qemu and arm64 packages"
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  "${sudo[@]}" dpkg --add-architecture arm64
fi
arm_packages=(zlib1g-dev libavformat-dev libavcodec-dev libswresample-dev libavutil-dev
  libopenblas-openmp-dev libsqlite3-dev libhiredis-dev libssl-dev libgtest-dev libgmock-dev)
bash scripts/install-deps.sh g++-aarch64-linux-gnu qemu-user "${arm_packages[@]/%/:arm64}"
aarch64-linux-gnu-g++ --version | head -1
qemu-aarch64 --version | head -1

mkdir -p "$arm"
arm_dir=$(cd "$arm" && pwd)
step "CUDA toolkit for aarch64"
cuda_mode=${AARCH64_CUDA:-auto}
host_nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
cuda_archs=${AARCH64_CUDA_ARCHS:-121-real}
cuda_args=(-DVOICEMAN_CUDA=OFF)
with_cuda=0
case "$cuda_mode" in
  off) echo "aarch64-check: CUDA backend off (AARCH64_CUDA=off)" ;;
  auto | on)
    if [ -x "$host_nvcc" ]; then
      CUDACXX=$host_nvcc bash scripts/cuda-sbsa-toolkit.sh "$arm_dir/cuda-sbsa"
      # nvcc compiles the device code and hands the host code to the aarch64 g++.
      cuda_args=(-DVOICEMAN_CUDA=ON -DCMAKE_CUDA_COMPILER="$arm_dir/cuda-sbsa/bin/nvcc"
        -DCMAKE_CUDA_HOST_COMPILER=aarch64-linux-gnu-g++ "-DCMAKE_CUDA_FLAGS=-target-dir sbsa-linux"
        "-DCMAKE_CUDA_ARCHITECTURES=$cuda_archs")
      with_cuda=1
    elif [ "$cuda_mode" = on ]; then
      echo "aarch64-check: AARCH64_CUDA=on but there is no nvcc ($host_nvcc)" >&2
      exit 2
    else
      echo "aarch64-check: no nvcc, so the CUDA backend is off"
    fi
    ;;
  *) echo "aarch64-check: AARCH64_CUDA must be auto, on or off (got '$cuda_mode')" >&2; exit 2 ;;
esac

step "configure and build for aarch64 ($arm)"
# oneDNN's arm64 package cannot sit beside the x86_64 one (a shared header differs), and
# Google Benchmark is not needed here: OpenBLAS is the GEMM library.
cmake -S . -B "$arm" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
  "${cuda_args[@]}" -DVOICEMAN_BUILD_BENCH=OFF >"$arm/configure.log" 2>&1 || {
  cat "$arm/configure.log"
  # scripts/test.sh shows the last lines only: the errors again, last.
  grep -A12 "CMake Error" "$arm/configure.log" | tail -40 >&2 || true
  echo "aarch64-check: configuring $arm failed (CMake's errors above)" >&2
  exit 1
}
grep "voiceman:" "$arm/configure.log" || true
# The quick mode builds what it runs: both binaries and the test binaries of the modules
# below (the others' tests, pipeline and cli above all, are the slowest to compile).
fast_modules=(tokenizer features decoding writers manifest journal metrics assign scheduler
  distribute engine)
targets=()
if [ "$mode" != full ]; then
  targets=(voiceman voiceman-dev "${fast_modules[@]/#/test_}")
  # engine.cuda_libraries_not_linked reads the GPU tests' binary too.
  [ "$with_cuda" != 1 ] || targets+=(test_engine_gpu)
fi
ninja -C "$arm" "${targets[@]}"
# (Read whole before grep -q: with pipefail, grep leaving early fails the pipe.)
header=$(readelf -h "$arm/src/voiceman")
grep -q "Machine: *AArch64" <<<"$header" || { echo "aarch64-check: not an aarch64 binary" >&2; exit 1; }
if [ "$with_cuda" = 1 ]; then
  # The CUDA objects must be in the binary, for aarch64: a CUDA kernel's fatbin section.
  sections=$(readelf -S "$arm/src/voiceman")
  grep -q "\.nv_fatbin" <<<"$sections" ||
    { echo "aarch64-check: the aarch64 voiceman has no CUDA device code" >&2; exit 1; }
  echo "aarch64-check: CUDA backend built for aarch64 ($cuda_archs)"
fi

step "unit tests under qemu-aarch64 ($mode)"
# The modules without model inference run in seconds under emulation; the rest take
# minutes each (engine 17 min, vad 47 s) or, unmeasured, longer, so only "full" runs them.
# Excluded everywhere, for emulation's sake:
#  - SampleNow.CpuPercentSeesBusyWork: qemu-user reports zero CPU times in /proc/self/stat;
#  - the tests that run the voiceman binary as a child process: the host's kernel cannot
#    execute an aarch64 binary unless binfmt_misc hands it to qemu;
#  - CublasLibrary.ProcessCopyResolvesEveryEntryPoint: it loads the toolkit's cuBLAS, and
#    no aarch64 cuBLAS is here.
# The engine's device dispatch and GPU probe tests run in both modes: in a CUDA build they
# see the aarch64 CUDA runtime find no driver, and the binaries must not link the CUDA
# libraries (cuda_libraries_not_linked), so one aarch64 binary runs with or without a GPU.
fast='^(tokenizer|features|decoding|writers|manifest|journal|metrics|assign|scheduler|distribute)\.'
fast="$fast|^engine\.(Dispatch|GpuProbe|CublasLibrary)\.|^engine\.cuda_libraries_not_linked$"
# (Each module of the regex above is in fast_modules, or its tests were not built.)
exclude='CpuPercentSeesBusyWork|CublasLibrary\.ProcessCopyResolvesEveryEntryPoint'
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  exclude="$exclude|^cli\.(RunCli|Help|Transcribe|Usage)\."
fi
select=(-R "$fast")
[ "$mode" != full ] || select=()
ctest --test-dir "$arm" -L unit "${select[@]}" -E "$exclude" --no-tests=error \
  --output-on-failure -j "$(nproc)" >"$arm/ctest.log" 2>&1 || {
  grep -E '\((Failed|Timeout|SEGFAULT|Subprocess aborted)\)|tests passed' "$arm/ctest.log" >&2
  echo "aarch64-check: unit tests failed; log: $arm/ctest.log" >&2
  exit 1
}
grep -E '^[0-9]+% tests passed' "$arm/ctest.log"

step "transcripts: aarch64 (under qemu) against x86_64, tiny.en ($mode: int8, full: float32 too)"
models=${VOICEMAN_MODELS_DIR:-$root/models}
data=${VOICEMAN_SHARED_DATA:-$root/../shared/data}
[ -x "$build/src/voiceman-dev" ] || { echo "aarch64-check: build $build first (scripts/test.sh)" >&2; exit 2; }
[ -d "$models/tiny.en" ] || { echo "aarch64-check: no $models/tiny.en (scripts/fetch-models.sh)" >&2; exit 2; }
clips=${AARCH64_CLIPS:-$([ "$mode" = full ] && echo 8 || echo 1)}
work="$arm/transcripts"
rm -rf "$work"
mkdir -p "$work/clips"
python3 - "$data" "$clips" <<'PY' >"$work/clips.list"
import json, sys
entries = [e for e in json.load(open(sys.argv[1] + "/manifest.json")) if e["language"] == "en"]
for e in sorted(entries, key=lambda e: e["duration_s"])[: int(sys.argv[2])]:
    print(e["audio"])
PY
while read -r audio; do
  "$build/src/voiceman-dev" wav --audio "$data/$audio" --out "$work/clips/$(basename "${audio%.*}").wav"
done <"$work/clips.list"
export OMP_WAIT_POLICY=PASSIVE
# Quick mode: int8 only (about 2 min under qemu, 5 in CI). The float32 words of the same
# clip are compared by the `voiceman run` below, through the whole pipeline.
computes=(int8)
[ "$mode" != full ] || computes=(float32 int8)
for compute in "${computes[@]}"; do
  for name in x86_64 aarch64; do
    dev=("$build/src/voiceman-dev")
    [ "$name" = x86_64 ] || dev=(qemu-aarch64 "$arm/src/voiceman-dev")
    s=$(date +%s)
    "${dev[@]}" transcribe --model "$models/tiny.en" --audio "$work/clips" \
      --mode chunks --device cpu --compute-type "$compute" --batch-windows 8 \
      >"$work/$name-$compute.json"
    echo "aarch64-check: $name $compute: $(( $(date +%s) - s )) s"
  done
done
python3 - "$work" "${computes[@]}" <<'PY'
import json, re, sys
work, computes = sys.argv[1], sys.argv[2:]
def words(text):
    return re.findall(r"[a-z0-9']+", text.lower())
rc = 0
for compute in computes:  # each was run above: a missing file fails here
    a = json.load(open(f"{work}/x86_64-{compute}.json"))["clips"]
    b = json.load(open(f"{work}/aarch64-{compute}.json"))["clips"]
    same = sum(words(x["text"]) == words(y["text"]) for x, y in zip(a, b))
    gate = compute == "float32"
    print(f"[aarch64] {compute}: clips={len(a)} same_words={same}"
          + (" (goal: all)" if gate else " (reported: int8 rounds per row; bench/GPU.md)"))
    for x, y in zip(a, b):
        if words(x["text"]) != words(y["text"]):
            print(f"  differs {x['file']}:\n    x86_64:  {x['text'].strip()}\n"
                  f"    aarch64: {y['text'].strip()}")
    if not a or len(a) != len(b) or (gate and same < len(a)):
        rc = 1
sys.exit(rc)
PY
step "voiceman run and verify: aarch64 (under qemu) against x86_64, on the original media"
# The whole pipeline on the first clip's original file (FFmpeg decoding, VAD, batching,
# hashing, the SQLite journal, the writers), then the aarch64 build verifies its output.
mkdir -p "$work/media"
cp "$data/$(head -1 "$work/clips.list")" "$work/media/"
# With the CUDA backend built in, the aarch64 run asks for CUDA: with no driver here it
# must fall back to the CPU, say why in the manifest, and give the x86_64 CPU run's words.
# Both in float32: int8 words may differ between GEMM libraries (README), and the default
# CPU compute type differs between CPUs (int8_bfloat16 where bf16 is native).
arm_device=cpu
[ "$with_cuda" = 0 ] || arm_device=cuda
# One engine: the clip is one chunk, and two engines would split the threads and leave
# one idle (228 s against 120 s under qemu).
for name in x86_64 aarch64; do
  bin=("$build/src/voiceman" -q run --device cpu --compute-type float32 --engines-per-device 1)
  [ "$name" = x86_64 ] ||
    bin=(qemu-aarch64 "$arm/src/voiceman" -q run --device "$arm_device" --compute-type float32
      --engines-per-device 1)
  s=$(date +%s)
  "${bin[@]}" "$work/media" -o "$work/run-$name" --model "$models/tiny.en" 2>"$work/run-$name.log" ||
    { cat "$work/run-$name.log" >&2; exit 1; }
  echo "aarch64-check: voiceman run on $name: $(( $(date +%s) - s )) s"
done
qemu-aarch64 "$arm/src/voiceman" -q verify "$work/run-aarch64"
echo "aarch64-check: voiceman verify on aarch64: exit 0"
python3 - "$work" "$arm_device" <<'PY'
import json, re, sys
work, arm_device = sys.argv[1], sys.argv[2]
options = json.load(open(f"{work}/run-aarch64/manifest.json"))["options"]
fallback = options.get("device_fallback")
print(f"[aarch64] run device={options['device']} device_effective={options['device_effective']}"
      f" device_fallback={fallback!r}")
# The CUDA build's runtime looks for the driver and names it as missing.
if (options["device"], options["device_effective"]) != (arm_device, "cpu") or (
        arm_device == "cuda" and "libcuda.so.1" not in (fallback or "")):
    sys.exit(1)
def inputs(name):
    m = json.load(open(f"{work}/run-{name}/manifest.json"))
    return {i["relative_path"]: i for i in m["inputs"]}
def words(name, rel):
    return re.findall(r"[a-z0-9']+", open(f"{work}/run-{name}/transcripts/{rel}.txt").read().lower())
a, b = inputs("x86_64"), inputs("aarch64")
rc = 0 if a.keys() == b.keys() and a else 1
for rel in a:
    x, y = a[rel], b.get(rel, {})
    hashes = all(x[w][h] == y.get(w, {}).get(h) for w in ("before", "after") for h in ("md5", "sha256"))
    same = y.get("status") == "ok" and words("x86_64", rel) == words("aarch64", rel)
    print(f"[aarch64] run {rel}: status={y.get('status')} hashes_equal={hashes} same_words={same}")
    rc |= not (hashes and same)
sys.exit(rc)
PY
step "done"
