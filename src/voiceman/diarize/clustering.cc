#include "voiceman/diarize/clustering.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "voiceman/core/errors.h"

namespace voiceman::diarize {
namespace {

Embedding unit(const Embedding& x) {
  double n = 0;
  for (float v : x) n += double(v) * v;
  Embedding out(x.size(), 0.0f);
  if (n <= 0 || !std::isfinite(n)) return out;
  const double inv = 1.0 / std::sqrt(n);
  for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<float>(x[i] * inv);
  return out;
}

double dot(const Embedding& x, const Embedding& y) {
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += double(x[i]) * y[i];
  return s;
}

// Condensed upper-triangular distance matrix.
class Condensed {
 public:
  explicit Condensed(int n) : n_(n), d_(size_t(n) * (n - 1) / 2) {}
  float& operator()(int i, int j) {
    if (i > j) std::swap(i, j);
    return d_[size_t(i) * n_ - size_t(i) * (i + 1) / 2 + (j - i - 1)];
  }

 private:
  int n_;
  std::vector<float> d_;
};

struct UnionFind {
  std::vector<int> parent, size;
  explicit UnionFind(int n) : parent(n), size(n, 1) { std::iota(parent.begin(), parent.end(), 0); }
  int find(int x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
  }
  int unite(int x, int y) {  // returns the new root
    x = find(x), y = find(y);
    if (size[x] < size[y]) std::swap(x, y);
    parent[y] = x;
    size[x] += size[y];
    return x;
  }
};

}  // namespace

double cosine_similarity(const Embedding& x, const Embedding& y) {
  if (x.size() != y.size()) throw Error("cosine_similarity: dimensions differ");
  const double nx = dot(x, x), ny = dot(y, y);
  if (nx <= 0 || ny <= 0) return 0;
  return dot(x, y) / std::sqrt(nx * ny);
}

std::vector<Merge> average_linkage(const std::vector<Embedding>& unit_embeddings) {
  const int n = static_cast<int>(unit_embeddings.size());
  std::vector<Merge> merges;
  if (n < 2) return merges;
  Condensed d(n);
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      d(i, j) = static_cast<float>(1.0 - dot(unit_embeddings[i], unit_embeddings[j]));

  // Nearest-neighbour chain: valid for average linkage because it is reducible (a merge
  // never brings a cluster closer to a third one than both parts were).
  std::vector<int> size(n, 1), chain;
  std::vector<char> active(n, 1);
  int remaining = n;
  while (remaining > 1) {
    if (chain.empty())
      for (int i = 0; i < n; ++i)
        if (active[i]) {
          chain.push_back(i);
          break;
        }
    int a = 0, b = 0;
    while (true) {
      a = chain.back();
      int best = chain.size() >= 2 ? chain[chain.size() - 2] : -1;
      float best_d = best >= 0 ? d(a, best) : std::numeric_limits<float>::infinity();
      for (int c = 0; c < n; ++c) {
        if (!active[c] || c == a) continue;
        const float dc = d(a, c);
        if (dc < best_d) best = c, best_d = dc;
      }
      b = best;
      if (chain.size() >= 2 && b == chain[chain.size() - 2]) break;
      chain.push_back(b);
    }
    chain.pop_back();
    chain.pop_back();
    merges.push_back({a, b, d(a, b)});
    // Lance-Williams update for average linkage; the merged cluster lives at index b.
    for (int k = 0; k < n; ++k) {
      if (!active[k] || k == a || k == b) continue;
      d(k, b) = (size[a] * d(k, a) + size[b] * d(k, b)) / float(size[a] + size[b]);
    }
    size[b] += size[a];
    active[a] = 0;
    --remaining;
  }
  std::stable_sort(merges.begin(), merges.end(),
                   [](const Merge& x, const Merge& y) { return x.height < y.height; });
  return merges;
}

Clustering cluster_embeddings(const std::vector<Embedding>& embeddings,
                              const ClusteringOptions& options) {
  Clustering out;
  const int n = static_cast<int>(embeddings.size());
  if (n == 0) return out;
  std::vector<Embedding> units(n);
  for (int i = 0; i < n; ++i) units[i] = unit(embeddings[i]);
  const std::vector<Merge> merges = average_linkage(units);

  // The dendrogram cut: level m = the first m merges applied. Track the number of large
  // clusters at every level so a forced or bounded count can pick its level.
  const int min_size =
      std::min(options.min_cluster_size, std::max(1, static_cast<int>(std::lround(0.1 * n))));
  std::vector<int> large(n);  // large[m]: number of large clusters at level m
  {
    UnionFind uf(n);
    int count = min_size <= 1 ? n : 0;
    large[0] = count;
    for (int m = 0; m + 1 < n; ++m) {
      const int x = uf.find(merges[m].a), y = uf.find(merges[m].b);
      count -= (uf.size[x] >= min_size) + (uf.size[y] >= min_size);
      count += (uf.size[x] + uf.size[y] >= min_size);
      uf.unite(x, y);
      large[m + 1] = count;
    }
  }
  int level = 0;  // at the threshold: every merge below it
  while (level + 1 < n && merges[level].height < options.threshold) ++level;
  const auto distance_to_threshold = [&](int m) {
    double lo = m > 0 ? merges[m - 1].height : -1.0, hi = m + 1 < n ? merges[m].height : 3.0;
    if (options.threshold < lo) return lo - options.threshold;
    if (options.threshold > hi) return options.threshold - hi;
    return 0.0;
  };
  int target = options.num_clusters;
  if (target == 0) {
    const int estimated = std::max(1, large[level]);
    target = std::max(estimated, options.min_clusters);
    if (options.max_clusters > 0) target = std::min(target, options.max_clusters);
    if (target == estimated) target = 0;  // keep the threshold's level
  }
  if (target > 0) {
    int best = level;
    for (int m = 0; m < n; ++m) {
      const int miss = std::abs(large[m] - target), best_miss = std::abs(large[best] - target);
      if (miss < best_miss ||
          (miss == best_miss && distance_to_threshold(m) < distance_to_threshold(best)))
        best = m;
    }
    level = best;
  }

  UnionFind uf(n);
  for (int m = 0; m < level; ++m) uf.unite(merges[m].a, merges[m].b);
  // Large clusters, numbered by their first member.
  std::vector<int> cluster_of_root(n, -1);
  std::vector<int> roots;
  for (int i = 0; i < n; ++i) {
    const int r = uf.find(i);
    if (uf.size[r] >= min_size && cluster_of_root[r] < 0) {
      cluster_of_root[r] = static_cast<int>(roots.size());
      roots.push_back(r);
    }
  }
  const size_t dim = units[0].size();
  const auto centroids_of = [&](const std::vector<int>& labels, int k) {
    std::vector<Embedding> c(k, Embedding(dim, 0.0f));
    for (int i = 0; i < n; ++i)
      if (labels[i] >= 0)
        for (size_t j = 0; j < dim; ++j) c[labels[i]][j] += units[i][j];
    for (Embedding& e : c) e = unit(e);
    return c;
  };
  out.labels.assign(n, -1);
  if (roots.empty()) {
    out.labels.assign(n, 0);  // no cluster is large: one speaker
  } else {
    for (int i = 0; i < n; ++i) out.labels[i] = cluster_of_root[uf.find(i)];
    const std::vector<Embedding> large_centroids = centroids_of(out.labels, int(roots.size()));
    // Each small cluster joins, as a whole, the large cluster nearest to its centroid.
    std::vector<int> small_target(n, -1);
    for (int i = 0; i < n; ++i) {
      if (out.labels[i] >= 0) continue;
      const int r = uf.find(i);
      if (small_target[r] < 0) {
        Embedding c(dim, 0.0f);
        for (int j = 0; j < n; ++j)
          if (uf.find(j) == r)
            for (size_t x = 0; x < dim; ++x) c[x] += units[j][x];
        double best = -2;
        for (size_t k = 0; k < large_centroids.size(); ++k) {
          const double s = cosine_similarity(c, large_centroids[k]);
          if (s > best) best = s, small_target[r] = static_cast<int>(k);
        }
      }
      out.labels[i] = small_target[r];
    }
  }
  // Renumber by first appearance.
  std::vector<int> renumber(n, -1);
  int k = 0;
  for (int& label : out.labels) {
    if (renumber[label] < 0) renumber[label] = k++;
    label = renumber[label];
  }
  out.centroids = centroids_of(out.labels, k);
  return out;
}

std::vector<int> max_score_assignment(const std::vector<std::vector<double>>& score) {
  const int rows = static_cast<int>(score.size());
  if (rows == 0) return {};
  const int cols = static_cast<int>(score[0].size());
  if (cols == 0) return std::vector<int>(rows, -1);
  if (rows > cols) {  // solve the transpose: every column gets a row
    std::vector<std::vector<double>> t(cols, std::vector<double>(rows));
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) t[c][r] = score[r][c];
    const std::vector<int> col_to_row = max_score_assignment(t);
    std::vector<int> out(rows, -1);
    for (int c = 0; c < cols; ++c)
      if (col_to_row[c] >= 0) out[col_to_row[c]] = c;
    return out;
  }
  // Hungarian algorithm with potentials (rows <= cols), minimising the negated scores.
  // Arrays are 1-based; column 0 is the virtual start.
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> u(rows + 1, 0), v(cols + 1, 0);
  std::vector<int> owner(cols + 1, 0), way(cols + 1, 0);
  for (int r = 1; r <= rows; ++r) {
    owner[0] = r;
    int c0 = 0;
    std::vector<double> minv(cols + 1, inf);
    std::vector<char> used(cols + 1, 0);
    do {
      used[c0] = 1;
      const int r0 = owner[c0];
      double delta = inf;
      int c1 = 0;
      for (int c = 1; c <= cols; ++c) {
        if (used[c]) continue;
        const double cur = -score[r0 - 1][c - 1] - u[r0] - v[c];
        if (cur < minv[c]) minv[c] = cur, way[c] = c0;
        if (minv[c] < delta) delta = minv[c], c1 = c;
      }
      for (int c = 0; c <= cols; ++c) {
        if (used[c])
          u[owner[c]] += delta, v[c] -= delta;
        else
          minv[c] -= delta;
      }
      c0 = c1;
    } while (owner[c0] != 0);
    do {
      const int c1 = way[c0];
      owner[c0] = owner[c1];
      c0 = c1;
    } while (c0 != 0);
  }
  std::vector<int> out(rows, -1);
  for (int c = 1; c <= cols; ++c)
    if (owner[c] > 0) out[owner[c] - 1] = c - 1;
  return out;
}

}  // namespace voiceman::diarize
