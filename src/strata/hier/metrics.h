// Evaluation metrics of the hierarchy toolkit: flat accuracy, balanced accuracy, confusion matrices, the
// paper's learning efficiency, partition agreement (ARI, NMI), hierarchical precision/recall/F1 on a label tree,
// and mean ± standard error over replicates.
#pragma once
#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "strata/core/label_tree.h"

namespace strata::hier {

// Fraction of equal entries. Throws bad_input on a length mismatch or empty input (likewise below).
double accuracy(const std::vector<int>& y_true, const std::vector<int>& y_pred);
// Mean per-class recall over the classes present in y_true (a class never seen in y_true does not count).
double balanced_accuracy(const std::vector<int>& y_true, const std::vector<int>& y_pred);
// (K, K) counts; rows = true class, columns = predicted class. Labels must lie in [0, K).
Eigen::MatrixXi confusion_matrix(const std::vector<int>& y_true, const std::vector<int>& y_pred, int num_classes);

// Learning efficiency of the hierarchical over the flat classifier: err_flat / err_hier (> 1: the hierarchy
// helps). err_hier = 0 gives +inf (or NaN when err_flat is also 0: nothing to compare).
double learning_efficiency(double err_flat, double err_hier);

// Adjusted Rand index of two labelings of the same items (Hubert & Arabie). 1 for identical partitions up to
// relabelling; as in scikit-learn, 1 in the degenerate cases where the expected index equals its maximum
// (e.g. both labelings a single cluster).
double adjusted_rand_index(const std::vector<int>& a, const std::vector<int>& b);
// Normalized mutual information with the arithmetic-mean normaliser MI / ((H(a) + H(b)) / 2), scikit-learn's
// default. Two single-cluster labelings give 1; a single cluster against a non-trivial labeling gives 0.
double normalized_mutual_info(const std::vector<int>& a, const std::vector<int>& b);

// Hierarchical precision/recall/F1 (Kiritchenko et al. 2005): each label is augmented with all its ancestors
// in the tree except the root; counts of the intersections are micro-averaged over examples:
// P = Σ|T∩P| / Σ|P|, R = Σ|T∩P| / Σ|T|, F1 = 2PR / (P + R).
struct HierPrf {
  double precision = 0, recall = 0, f1 = 0;
};
HierPrf hierarchical_prf(const std::vector<int>& y_true, const std::vector<int>& y_pred, const LabelTree& tree);

// Mean and standard error sd / sqrt(n) with the n-1 sample standard deviation; n = 1 gives se = 0.
struct MeanSe {
  double mean = 0, se = 0;
};
MeanSe mean_se(const std::vector<double>& values);

}  // namespace strata::hier
