#!/usr/bin/env bash
# Lays out a CUDA toolkit for cross-compiling to 64-bit Arm Linux (sbsa: the GB10 / DGX
# Spark, Grace Hopper) from this x86_64 machine's toolkit, so that the CUDA backend is
# compiled and linked for aarch64 here (scripts/aarch64-check.sh).
#   bash scripts/cuda-sbsa-toolkit.sh DIR   # then DIR/bin/nvcc -target-dir sbsa-linux
# What is in DIR:
#   - bin/ and nvvm/: links to the host toolkit's. nvcc finds its tools and its targets/
#     folder beside the path it was started by, so DIR/bin/nvcc uses DIR/targets.
#   - targets/sbsa-linux/include: a link to the host toolkit's headers (CUDA's headers are
#     the same on every host; the aarch64 runtime wheel's are byte-identical to x86_64's).
#   - targets/sbsa-linux/lib: the aarch64 CUDA runtime (libcudart_static.a and friends)
#     from PyPI's nvidia-cuda-runtime wheel for manylinux aarch64, of the host runtime's
#     version. The driver, NVML and cuBLAS are loaded at run time and are not needed.
#   - targets/aarch64-linux: a link to sbsa-linux, where CMake's FindCUDAToolkit looks
#     when the target processor is aarch64.
# Environment: CUDACXX (the host nvcc; default: nvcc on PATH, else /usr/local/cuda/bin/nvcc),
#   PIP (default pip).
set -euo pipefail
trap 'echo "cuda-sbsa-toolkit: failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
out=${1:?usage: cuda-sbsa-toolkit.sh DIR}
nvcc=${CUDACXX:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
[ -x "$nvcc" ] || { echo "cuda-sbsa-toolkit: no nvcc ($nvcc)" >&2; exit 2; }
# The toolkit's root as nvcc itself sees it (its _HERE_ is its bin folder): nvcc on PATH
# may be a wrapper script elsewhere (/usr/local/bin/nvcc running /usr/local/cuda-13.0/bin/nvcc
# on the CI machine), and that script's folder is not the toolkit's.
here=$("$nvcc" --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^#\$ _HERE_=//p' | head -1 || true)
[ -n "$here" ] && [ -x "$here/nvcc" ] || { echo "cuda-sbsa-toolkit: cannot tell where $nvcc's toolkit is (nvcc --dryrun names no _HERE_)" >&2; exit 2; }
cuda=$(dirname "$(dirname "$(readlink -f "$here/nvcc")")")
nvcc=$cuda/bin/nvcc
include=$cuda/targets/x86_64-linux/include
[ -f "$include/cuda_runtime.h" ] || include=$cuda/include
[ -f "$include/cuda_runtime.h" ] || { echo "cuda-sbsa-toolkit: no cuda_runtime.h under $cuda" >&2; exit 2; }

# The runtime's version: the host toolkit's runtime wheel when it was installed from
# wheels (its headers then match exactly), else nvcc's own version.
# (A toolkit from NVIDIA's installer has no dist-info folder; under pipefail a failing find
# would end the script without a word, as it did in CI.)
version=""
if [ -d "$cuda/dist-info" ]; then
  version=$(find "$cuda/dist-info" -maxdepth 1 -name 'nvidia_cuda_runtime-*.dist-info' |
    sed -n 's/.*nvidia_cuda_runtime-\([0-9.]*\)\.dist-info$/\1/p' | head -1)
fi
[ -n "$version" ] || version=$("$nvcc" --version | sed -n 's/.*, V\([0-9][0-9.]*\)$/\1/p')
[ -n "$version" ] || { echo "cuda-sbsa-toolkit: cannot tell the CUDA version of $nvcc" >&2; exit 2; }

lib=$out/targets/sbsa-linux/lib
stamp=$lib/.nvidia-cuda-runtime-$version
# A folder laid out from another toolkit is laid out again.
[ "$(readlink "$out/bin/nvcc" 2>/dev/null)" = "$cuda/bin/nvcc" ] || rm -f "$stamp"
if [ ! -f "$stamp" ]; then
  rm -rf "$out"
  mkdir -p "$out/bin" "$lib"
  for f in "$cuda"/bin/*; do ln -s "$f" "$out/bin/"; done
  ln -s "$cuda/nvvm" "$out/nvvm"
  ln -s "$include" "$out/targets/sbsa-linux/include"
  ln -s sbsa-linux "$out/targets/aarch64-linux"
  wheels=$(mktemp -d)
  trap 'rm -rf "$wheels"' EXIT
  # The exact version first; else the newest of the same major.minor (same ABI and headers).
  for spec in "nvidia-cuda-runtime==$version" "nvidia-cuda-runtime==${version%.*}.*"; do
    if "${PIP:-pip}" download -q --no-deps --only-binary=:all: \
      --platform manylinux2014_aarch64 -d "$wheels" "$spec" >"$wheels/pip.log" 2>&1; then
      break
    fi
  done
  wheel=$(find "$wheels" -name 'nvidia_cuda_runtime-*aarch64*.whl' | head -1)
  [ -n "$wheel" ] || { cat "$wheels/pip.log" >&2; echo "cuda-sbsa-toolkit: no aarch64 nvidia-cuda-runtime $version from PyPI" >&2; exit 1; }
  python3 - "$wheel" "$lib" <<'PY'
import sys, zipfile, os
wheel, lib = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if "/lib/" in name and not name.endswith("/"):
            with z.open(name) as src, open(os.path.join(lib, os.path.basename(name)), "wb") as dst:
                dst.write(src.read())
PY
  [ -f "$lib/libcudart_static.a" ] || { echo "cuda-sbsa-toolkit: $(basename "$wheel") has no libcudart_static.a" >&2; exit 1; }
  for so in "$lib"/libcudart.so.*; do ln -sf "$(basename "$so")" "$lib/libcudart.so"; done
  basename "$wheel" >"$stamp"
fi
echo "cuda-sbsa-toolkit: $out (host nvcc $("$nvcc" --version | sed -n 's/.*, V//p'), aarch64 runtime from $(cat "$stamp"))"
