#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing and running voiceman need.
# Idempotent and quick: asks dpkg first and only runs apt-get for what is missing.
#   bash scripts/install-deps.sh [EXTRA_PACKAGE...]
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libavformat-dev libavcodec-dev libswresample-dev libavutil-dev ffmpeg
  libopenblas-dev libopenblas-openmp-dev libdnnl-dev nlohmann-json3-dev libcli11-dev libspdlog-dev
  libsqlite3-dev libhiredis-dev libssl-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server valgrind
  # the HTML report is checked by rendering it headless
  chromium fonts-noto-cjk
  # model fetching and the reference venv (tests and benchmarks only)
  python3 python3-venv python3-pip
)
packages+=("$@")

missing=()
native=$(dpkg --print-architecture)
for p in "${packages[@]}"; do
  # Qualified by the native architecture first: with a foreign one added (aarch64-check.sh),
  # an unqualified name matches both copies of a library.
  status=$(dpkg-query -W -f='${Status}' "$p:$native" 2>/dev/null ||
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 2; }
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "install-deps: done"
