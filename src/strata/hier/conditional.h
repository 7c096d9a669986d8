// Class-conditional representations (step 1 of Helm et al.): one vector per class (its mean, optionally in PCA
// space) or a class-by-class dissimilarity/similarity (kernel MMD, partition-based task similarity). These feed
// the clustering that induces the label tree.
#pragma once
#include <Eigen/Core>
#include <cstddef>
#include <cstdint>

#include "strata/data/dataset.h"

namespace strata::hier {

// (K, r): the mean of each class. pca_dims <= 0: r = d, the raw means. Otherwise the data are first projected on
// their top min(pca_dims, d) principal components (PCA of the centred data, components sign-fixed so that each
// one's largest-magnitude loading is positive) and r = min(pca_dims, d). d <= 2048 uses the exact eigenvectors of
// the d×d covariance; larger d a seeded randomized subspace iteration. Every class must have an example.
Eigen::MatrixXd class_means(const data::Dataset& ds, int pca_dims = 0, std::uint64_t seed = 0);

// (K, K) dissimilarity sqrt(max(MMD²_u, 0)) between every pair of classes, MMD²_u the unbiased U-statistic
// estimate (within-class sums exclude i = j) with the Gaussian kernel k(x, y) = exp(-|x-y|² / (2 σ²)),
// σ² = the median squared distance among up to 1000 pooled points (seeded). Classes with more than
// max_per_class examples are subsampled (seeded; 0 = no cap); every class needs >= 2 examples. Diagonal 0.
// Threaded over rows; the result does not depend on threads.
Eigen::MatrixXd mmd_matrix(const data::Dataset& ds, std::size_t max_per_class = 200, std::uint64_t seed = 0,
                           int threads = 0);

// (K, K) partition-based task similarity (after Helm et al.), in [0, 1], symmetric, diagonal 1.
// For classes i, j and a third class k drawn at random (seeded, `negatives` draws): a shallow gini CART
// (depth <= max_depth, all features, thresholds on 64 quantile bins of the pooled data) is fitted on i-vs-k and
// one on j-vs-k. The i-vs-k examples are routed through both trees; under each partition every cell predicts the
// majority i-vs-k label of its examples (ties: class i). S(i→j) = the fraction of i-vs-k examples whose
// prediction under the j-vs-k partition equals that under the i-vs-k partition; S(j→i) likewise with the roles
// swapped and the same k. S = average over the draws of (S(i→j) + S(j→i)) / 2. Classes are subsampled to
// max_per_class (0 = no cap). Needs >= 3 classes, each with an example. Threaded over class pairs; the result
// depends on the seed only.
Eigen::MatrixXd task_similarity(const data::Dataset& ds, int negatives = 5, std::uint64_t seed = 0, int max_depth = 4,
                                std::size_t max_per_class = 500, int threads = 0);

}  // namespace strata::hier
