// A GEMM in which every element of C is computed by the same arithmetic, wherever it
// sits: one multiply-add chain over k in order, in the same vector code for every row and
// column (the last columns go through it zero padded). Equal columns of B then give
// bitwise-equal columns of C, which BLAS libraries do not promise (their kernels for the
// edges of a block round differently).
#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

#include "voiceman/engine/primitives/cpu_primitives.h"
#include "voiceman/engine/primitives/simd.h"

#pragma GCC diagnostic ignored "-Wpsabi"

namespace voiceman::primitives::cpu {
namespace {

constexpr int kTileRows = 6;   // 6 x 16 accumulators: 12 of the 16 AVX2 registers
constexpr int kTileCols = 16;  // two 8-float vectors
constexpr int kDepth = 256;    // k per pass: a tile's rows of B stay in L1
constexpr int kBlockRows = 8 * kTileRows;
constexpr int kBlockCols = 4 * kTileCols;

// c[R x 16] (row stride ldc) = (first ? 0 : c) + a[R x k] * b[k x 16] (row strides lda, ldb).
// Inlined into each target clone of uniform_block, which compiles it for that clone's ISA.
template <int R>
[[gnu::always_inline]] inline void tile(const float* a, int lda, const float* b, int ldb, int k,
                                        bool first, float* c, int ldc) {
  v8 acc[R][2];
  for (int r = 0; r < R; ++r) {
    acc[r][0] = first ? v8{} : load8(c + static_cast<int64_t>(r) * ldc);
    acc[r][1] = first ? v8{} : load8(c + static_cast<int64_t>(r) * ldc + 8);
  }
  for (int p = 0; p < k; ++p) {
    const v8 b0 = load8(b + static_cast<int64_t>(p) * ldb);
    const v8 b1 = load8(b + static_cast<int64_t>(p) * ldb + 8);
    for (int r = 0; r < R; ++r) {
      const float s = a[static_cast<int64_t>(r) * lda + p];
      acc[r][0] += s * b0;
      acc[r][1] += s * b1;
    }
  }
  for (int r = 0; r < R; ++r) {
    store8(c + static_cast<int64_t>(r) * ldc, acc[r][0]);
    store8(c + static_cast<int64_t>(r) * ldc + 8, acc[r][1]);
  }
}

template <int... R>
[[gnu::always_inline]] inline void tile_rows(int rows, std::integer_sequence<int, R...> /*unused*/,
                                             const float* a, int lda, const float* b, int ldb,
                                             int k, bool first, float* c, int ldc) {
  ((rows == R + 1 ? tile<R + 1>(a, lda, b, ldb, k, first, c, ldc) : void()), ...);
}

// Rows [i0, i1) and columns [j0, j1) of C, k in passes of kDepth. Each pass packs its
// rows of B for the block into `panel`, 16 columns at a time and zero padded past j1, so
// the tiles stream contiguous memory (B's rows are long: a conv's output steps); `out`
// receives the last, narrower tile of columns.
VOICEMAN_MULTIVERSION void uniform_block(int k, const float* a, int lda, const float* b, int ldb,
                                         float* c, int ldc, int i0, int i1, int j0, int j1,
                                         std::vector<float>& panel, std::vector<float>& out) {
  const int tiles = (j1 - j0 + kTileCols - 1) / kTileCols;
  out.resize(static_cast<size_t>(kTileRows) * kTileCols);
  for (int p0 = 0; p0 < k; p0 += kDepth) {
    const int depth = std::min(kDepth, k - p0);
    const bool first = p0 == 0;
    panel.assign(static_cast<size_t>(tiles) * depth * kTileCols, 0.f);
    for (int p = 0; p < depth; ++p) {
      const float* row = b + static_cast<int64_t>(p0 + p) * ldb;
      for (int t = 0; t < tiles; ++t) {
        const int j = j0 + t * kTileCols;
        std::copy_n(row + j, std::min(kTileCols, j1 - j),
                    panel.data() + (static_cast<size_t>(t) * depth + p) * kTileCols);
      }
    }
    for (int t = 0; t < tiles; ++t) {
      const int j = j0 + t * kTileCols;
      const int cols = std::min(kTileCols, j1 - j);
      const float* bt = panel.data() + static_cast<size_t>(t) * depth * kTileCols;
      for (int i = i0; i < i1; i += kTileRows) {
        const int rows = std::min(kTileRows, i1 - i);
        const float* at = a + static_cast<int64_t>(i) * lda + p0;
        float* ct = c + static_cast<int64_t>(i) * ldc + j;
        if (cols == kTileCols) {
          tile_rows(rows, std::make_integer_sequence<int, kTileRows>{}, at, lda, bt, kTileCols,
                    depth, first, ct, ldc);
          continue;
        }
        for (int r = 0; r < rows && !first; ++r)
          std::copy_n(ct + static_cast<int64_t>(r) * ldc, cols,
                      out.data() + static_cast<ptrdiff_t>(r) * kTileCols);
        tile_rows(rows, std::make_integer_sequence<int, kTileRows>{}, at, lda, bt, kTileCols, depth,
                  first, out.data(), kTileCols);
        for (int r = 0; r < rows; ++r)
          std::copy_n(out.data() + static_cast<ptrdiff_t>(r) * kTileCols, cols,
                      ct + static_cast<int64_t>(r) * ldc);
      }
    }
  }
}

}  // namespace

void sgemm_uniform(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
                   int ldc, int threads) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int i = 0; i < m; ++i) std::fill_n(c + static_cast<int64_t>(i) * ldc, n, 0.f);
    return;
  }
  const int row_blocks = (m + kBlockRows - 1) / kBlockRows;
  const int col_blocks = (n + kBlockCols - 1) / kBlockCols;
#pragma omp parallel num_threads(std::max(1, threads)) if (static_cast <int64_t>(m) * n * k > 32768)
  {
    std::vector<float> panel, out;
#pragma omp for collapse(2) schedule(static)
    for (int cb = 0; cb < col_blocks; ++cb)
      for (int rb = 0; rb < row_blocks; ++rb)
        uniform_block(k, a, lda, b, ldb, c, ldc, rb * kBlockRows,
                      std::min(m, (rb + 1) * kBlockRows), cb * kBlockCols,
                      std::min(n, (cb + 1) * kBlockCols), panel, out);
  }
}

}  // namespace voiceman::primitives::cpu
