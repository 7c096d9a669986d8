// Hierarchy induction, end to end: class-conditional representation -> (embedding) -> clustering -> LabelTree.
// This is the paper's pipeline (Helm et al.) with the choices exposed as configuration.
#pragma once
#include <Eigen/Dense>
#include <cstdint>
#include <string>
#include <vector>

#include "strata/core/label_tree.h"
#include "strata/data/dataset.h"
#include "strata/hier/gmm.h"

namespace strata::hier {

struct InduceConfig {
  std::string method = "means";     // means | mmd | tasksim
  std::string embed = "cmds";       // none | cmds | ase
  std::string cluster = "gmm";      // gmm | agglomerative | kmeans
  std::string linkage = "average";  // agglomerative: average | ward | single | complete
  int k_min = 2;
  int k_max = 0;                    // 0: max(2, classes / 2)
  int dims = 0;                     // embedding dimensions; 0: profile-likelihood elbow
  int pca_dims = 0;                 // means: project the data to this many principal components first (0: none)
  int negatives = 5;                // tasksim: random third classes per pair
  std::size_t max_per_class = 500;  // mmd / tasksim: subsample per class
  std::vector<Covariance> covariances = {Covariance::kSpherical, Covariance::kDiag, Covariance::kTied,
                                         Covariance::kFull};
  // gmm: reg_covar relative to the mean per-dimension variance of the class points. Class-level data has few
  // points, and with sklearn's absolute 1e-6 BIC rewards components that collapse onto one or two classes.
  double reg_covar = 3e-2;
  int n_init = 5;  // gmm restarts / kmeans restarts
  std::uint64_t seed = 0;
  int threads = 0;
};

struct InduceResult {
  LabelTree tree;
  std::vector<int> groups;        // top-level group of each class
  int k = 0;                      // number of top-level groups
  std::string detail;             // e.g. "gmm k=3 cov=full bic=12.3"
  Eigen::MatrixXd points;         // (K, r) the class representation that was clustered (empty if none)
  Eigen::MatrixXd dissimilarity;  // (K, K) where the method gave one
  std::vector<GmmSelection::Row> bic_table;
  double seconds = 0;
};

// Validates the configuration (bad_input naming the field and the allowed values) and runs the pipeline.
InduceResult induce(const data::Dataset& ds, const InduceConfig& cfg);
void validate(const InduceConfig& cfg);

// Mean silhouette coefficient of a labelling (Euclidean); used to choose k for k-means.
double silhouette(const Eigen::MatrixXd& X, const std::vector<int>& labels);

}  // namespace strata::hier
