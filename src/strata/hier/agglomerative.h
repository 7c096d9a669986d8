// Agglomerative (hierarchical) clustering of points or of a dissimilarity matrix, producing a dendrogram in scipy's
// linkage convention, which LabelTree::from_merges (core/label_tree.h) turns into a binary label tree.
#pragma once
#include <Eigen/Dense>
#include <string>
#include <utility>
#include <vector>

namespace strata::hier {

enum class Linkage { kAverage, kWard, kSingle, kComplete };

// "average" | "ward" | "single" | "complete"; anything else throws bad_input listing the choices.
Linkage parse_linkage(const std::string& name);
const char* linkage_name(Linkage l);

// scipy.cluster.hierarchy.linkage convention: merge i joins merges[i].first < merges[i].second, where ids < n are
// the input points and id n + j is the cluster formed at merge j; heights are non-decreasing.
struct Dendrogram {
  std::vector<std::pair<int, int>> merges;  // (n - 1)
  std::vector<double> heights;              // (n - 1) linkage distance at each merge
  std::vector<int> sizes;                   // (n - 1) points in the cluster formed at each merge
  int n() const { return static_cast<int>(merges.size()) + 1; }
};

// Clusters the rows of X (n, d) under Euclidean distance; same merges and heights as
// scipy.cluster.hierarchy.linkage(X, method) up to the order of exact ties. Ward heights are scipy's (the
// Euclidean-scale Ward distance sqrt(2 |A||B|/(|A|+|B|)) |c_A - c_B|).
Dendrogram agglomerative_points(const Eigen::MatrixXd& X, Linkage linkage);

// Clusters from a symmetric non-negative dissimilarity matrix D (n, n) (diagonal ignored). Average, single and
// complete use D as it is. Ward applies the Lance-Williams update to squared dissimilarities and reports their
// square root, i.e. it treats D as Euclidean distances (scipy's linkage(squareform(D), "ward")); on a
// non-Euclidean D it is the usual heuristic extension. Throws bad_input if D is not square, not finite, negative
// or asymmetric (beyond 1e-9 relative): symmetrise it first if that is what you mean.
Dendrogram agglomerative_dissimilarity(const Eigen::MatrixXd& D, Linkage linkage);

// Flat clustering into k groups: the partition after the first n - k merges. Labels 0..k-1 numbered by first
// appearance over points 0..n-1. Throws bad_input unless 1 <= k <= n and the dendrogram has n - 1 valid merges.
std::vector<int> cut_dendrogram(const Dendrogram& dendrogram, int n, int k);

}  // namespace strata::hier
