#include "voiceman/diarize/clustering.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <set>

namespace voiceman::diarize {
namespace {

// `per_cluster` noisy copies of `k` random unit directions in 32-d, interleaved in time
// order (speaker 0, 1, ..., k-1, 0, 1, ...). Noise 0.08 per dimension puts the cosine
// distance within a cluster around 0.17 and between clusters around 1.
struct Synthetic {
  std::vector<Embedding> embeddings;
  std::vector<int> truth;
};

Synthetic make_clusters(int k, int per_cluster, unsigned seed, double noise = 0.08) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int dim = 32;
  std::vector<Embedding> centres(k, Embedding(dim));
  for (auto& c : centres) {
    double n = 0;
    for (float& v : c) v = normal(rng), n += v * v;
    for (float& v : c) v /= std::sqrt(n);
  }
  Synthetic s;
  for (int i = 0; i < per_cluster; ++i)
    for (int c = 0; c < k; ++c) {
      Embedding e = centres[c];
      for (float& v : e) v += noise * normal(rng);
      s.embeddings.push_back(e);
      s.truth.push_back(c);
    }
  return s;
}

// The tests' threshold: between the within- and between-cluster distances.
ClusteringOptions opts() {
  ClusteringOptions o;
  o.threshold = 0.5;
  return o;
}

int num_clusters(const Clustering& c) { return static_cast<int>(c.centroids.size()); }

// Every found cluster holds one true speaker only (and vice versa when counts match).
bool pure(const Clustering& c, const std::vector<int>& truth) {
  std::map<int, std::set<int>> found_to_true;
  for (size_t i = 0; i < truth.size(); ++i) found_to_true[c.labels[i]].insert(truth[i]);
  for (const auto& [label, trues] : found_to_true)
    if (trues.size() != 1) return false;
  return true;
}

TEST(Clustering, EstimatesTwoThreeAndFiveSpeakers) {
  for (int k : {2, 3, 5}) {
    for (unsigned seed : {1u, 2u, 3u}) {
      const Synthetic s = make_clusters(k, 20, seed * 7 + k);
      const Clustering c = cluster_embeddings(s.embeddings, opts());
      EXPECT_EQ(num_clusters(c), k) << "k=" << k << " seed=" << seed;
      EXPECT_TRUE(pure(c, s.truth)) << "k=" << k << " seed=" << seed;
      ASSERT_EQ(c.labels.size(), s.embeddings.size());
      EXPECT_EQ(c.labels[0], 0);  // numbered by first appearance
      EXPECT_EQ(c.labels[1], 1);
    }
  }
}

TEST(Clustering, ForcedCountOverridesTheThreshold) {
  const Synthetic s = make_clusters(5, 12, 11);
  ClusteringOptions o = opts();
  o.num_clusters = 3;
  EXPECT_EQ(num_clusters(cluster_embeddings(s.embeddings, o)), 3);
  // A threshold that would merge everything still yields the forced five, correctly.
  o.num_clusters = 5;
  o.threshold = 1.9;
  const Clustering c = cluster_embeddings(s.embeddings, o);
  EXPECT_EQ(num_clusters(c), 5);
  EXPECT_TRUE(pure(c, s.truth));
  // ... and one that would split everything yields the forced two.
  ClusteringOptions tiny = opts();
  tiny.num_clusters = 2;
  tiny.threshold = 0.01;
  const Synthetic two = make_clusters(2, 15, 5);
  const Clustering c2 = cluster_embeddings(two.embeddings, tiny);
  EXPECT_EQ(num_clusters(c2), 2);
  EXPECT_TRUE(pure(c2, two.truth));
}

TEST(Clustering, BoundsClampTheEstimate) {
  const Synthetic five = make_clusters(5, 12, 21);
  ClusteringOptions o = opts();
  o.max_clusters = 2;
  EXPECT_EQ(num_clusters(cluster_embeddings(five.embeddings, o)), 2);
  o.max_clusters = 8;  // inside the bounds: the estimate stands
  EXPECT_EQ(num_clusters(cluster_embeddings(five.embeddings, o)), 5);
  const Synthetic two = make_clusters(2, 12, 22);
  ClusteringOptions lo = opts();
  lo.min_clusters = 4;
  EXPECT_EQ(num_clusters(cluster_embeddings(two.embeddings, lo)), 4);
}

TEST(Clustering, SmallClustersJoinTheNearestLargeOne) {
  Synthetic s = make_clusters(2, 15, 31);
  // An outlier closer to cluster 0 than to cluster 1, but far from both (a short or
  // uncertain segment): on its own it would be a third speaker.
  // Built at cosine 0.35 from embedding 0: 0.35 u0 + 0.94 r, r a random unit vector
  // orthogonal to u0.
  const Embedding& e0 = s.embeddings[0];
  double n0 = 0;
  for (float v : e0) n0 += v * v;
  Embedding r(e0.size());
  std::mt19937 rng(4);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& v : r) v = normal(rng);
  double proj = 0, nr = 0;
  for (size_t i = 0; i < r.size(); ++i) proj += r[i] * e0[i] / n0;
  for (size_t i = 0; i < r.size(); ++i) r[i] -= static_cast<float>(proj * e0[i]), nr += r[i] * r[i];
  Embedding odd(e0.size());
  for (size_t i = 0; i < r.size(); ++i)
    odd[i] = static_cast<float>(0.35 * e0[i] / std::sqrt(n0) + 0.94 * r[i] / std::sqrt(nr));
  ASSERT_NEAR(cosine_similarity(odd, e0), 0.35, 0.01);
  s.embeddings.push_back(odd);
  ClusteringOptions one = opts();  // min_cluster_size 1: every cluster counts
  const Clustering alone = cluster_embeddings(s.embeddings, one);
  ASSERT_EQ(num_clusters(alone), 3);
  ClusteringOptions o = opts();
  o.min_cluster_size = 3;
  const Clustering c = cluster_embeddings(s.embeddings, o);
  EXPECT_EQ(num_clusters(c), 2);
  EXPECT_EQ(c.labels.back(), c.labels[0]);
}

TEST(Clustering, EdgeCases) {
  EXPECT_TRUE(cluster_embeddings({}, opts()).labels.empty());
  const Clustering one = cluster_embeddings({{1.0f, 0.0f}}, opts());
  EXPECT_EQ(one.labels, std::vector<int>{0});
  ASSERT_EQ(one.centroids.size(), 1u);
  // Forcing more clusters than embeddings gives one per embedding.
  ClusteringOptions o = opts();
  o.num_clusters = 4;
  EXPECT_EQ(num_clusters(cluster_embeddings({{1, 0}, {0, 1}}, o)), 2);
  // A zero vector does not poison the others.
  const Clustering z = cluster_embeddings({{1, 0}, {1, 0.01f}, {0, 0}}, opts());
  EXPECT_EQ(z.labels[0], z.labels[1]);
}

TEST(AverageLinkage, HandMadeDendrogram) {
  // Unit vectors at 0, 10, 90 and 100 degrees: {0,10} and {90,100} merge first at
  // 1 - cos(10), then the pairs at the mean of the four cross distances.
  const double d = M_PI / 180;
  std::vector<Embedding> v;
  for (double a : {0.0, 10.0, 90.0, 100.0})
    v.push_back({static_cast<float>(std::cos(a * d)), static_cast<float>(std::sin(a * d))});
  const std::vector<Merge> m = average_linkage(v);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_NEAR(m[0].height, 1 - std::cos(10 * d), 1e-6);
  EXPECT_NEAR(m[1].height, 1 - std::cos(10 * d), 1e-6);
  const double cross =
      1 - (std::cos(90 * d) + std::cos(100 * d) + std::cos(80 * d) + std::cos(90 * d)) / 4;
  EXPECT_NEAR(m[2].height, cross, 1e-6);
  EXPECT_EQ(std::set<int>({m[0].a, m[0].b, m[1].a, m[1].b}), std::set<int>({0, 1, 2, 3}));
}

TEST(MaxScoreAssignment, BeatsGreedy) {
  // Greedy would give row 0 column 0 (0.9) and row 1 column 1 (0.1): total 1.0; the best
  // is 0.8 + 0.85.
  EXPECT_EQ(max_score_assignment({{0.9, 0.8}, {0.85, 0.1}}), (std::vector<int>{1, 0}));
  // More rows than columns: the weakest row is left out.
  EXPECT_EQ(max_score_assignment({{0.2}, {0.9}, {0.5}}), (std::vector<int>{-1, 0, -1}));
  // More columns than rows; negative scores (cosine) are fine.
  EXPECT_EQ(max_score_assignment({{-0.5, -0.1, -0.9}, {-0.2, -0.3, 0.4}}),
            (std::vector<int>{1, 2}));
  EXPECT_EQ(max_score_assignment({{1.0}, {2.0}}).size(), 2u);
  EXPECT_TRUE(max_score_assignment({}).empty());
}

TEST(Cosine, Basics) {
  EXPECT_NEAR(cosine_similarity({1, 0}, {2, 0}), 1.0, 1e-12);
  EXPECT_NEAR(cosine_similarity({1, 0}, {0, 3}), 0.0, 1e-12);
  EXPECT_EQ(cosine_similarity({0, 0}, {1, 0}), 0.0);
}

}  // namespace
}  // namespace voiceman::diarize
