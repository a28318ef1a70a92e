#pragma once
// Agglomerative clustering of speaker embeddings: average linkage over cosine distance
// (nearest-neighbour chain, O(N^2) time and N^2/2 floats), cut at a distance threshold
// or at a forced / bounded number of clusters. Small clusters are not speakers of their
// own: they join the nearest large cluster.
#include <vector>

namespace voiceman::diarize {

using Embedding = std::vector<float>;

struct ClusteringOptions {
  double threshold = 0.25;   // merge clusters whose average cosine distance is below this
  int num_clusters = 0;      // > 0: cut the dendrogram at this many (large) clusters
  int min_clusters = 1;      // bounds on the estimated count (used when num_clusters == 0)
  int max_clusters = 0;      // 0 = unbounded
  int min_cluster_size = 1;  // smaller clusters join the nearest large one; capped at 10%
                             // of the embeddings (at least 1), as pyannote does
};

struct Clustering {
  std::vector<int> labels;           // per embedding: 0..K-1, numbered by first member
  std::vector<Embedding> centroids;  // K unit vectors (mean of the members' unit vectors)
};

// One merge of the dendrogram: clusters containing embeddings `a` and `b` joined at the
// average cosine distance `height`. Sorted by height.
struct Merge {
  int a = 0, b = 0;
  double height = 0;
};
std::vector<Merge> average_linkage(const std::vector<Embedding>& unit_embeddings);

// Clusters the embeddings (any norm; zero vectors are treated as orthogonal to all).
Clustering cluster_embeddings(const std::vector<Embedding>& embeddings,
                              const ClusteringOptions& options);

// Cosine similarity of two vectors (0 when either is zero).
double cosine_similarity(const Embedding& x, const Embedding& y);

// The assignment of rows to distinct columns that maximises the total score (Hungarian
// algorithm); -1 for rows left without a column (more rows than columns). Used to map the
// local speakers of one window to distinct clusters: two voices heard at the same time in
// one window are never the same speaker.
std::vector<int> max_score_assignment(const std::vector<std::vector<double>>& score);

}  // namespace voiceman::diarize
