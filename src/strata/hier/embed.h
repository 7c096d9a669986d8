// Euclidean embeddings of items given pairwise dissimilarities (classical MDS) or similarities (adjacency spectral
// embedding), and the Zhu & Ghodsi profile-likelihood elbow for choosing the dimension.
#pragma once
#include <Eigen/Dense>

namespace strata::hier {

// Classical (Torgerson) MDS: B = -1/2 J D^2 J with J = I - 11^T/n; embedding = V_d Lambda_d^{1/2} over the d largest
// eigenvalues, negatives clipped to 0. D: (n, n) symmetric (it is symmetrised as (D + D^T)/2), non-negative,
// finite; diagonal ignored. dims = 0 picks the dimension by choose_dims on the clipped spectrum. Returns (n, dims).
// For points in R^p with dims >= p the pairwise distances of the embedding equal D. Eigenvector signs are fixed
// (largest-magnitude entry positive) so the result is deterministic.
Eigen::MatrixXd cmds(const Eigen::MatrixXd& D, int dims);

// Adjacency spectral embedding of a similarity matrix S (n, n), after: symmetrise (S + S^T)/2; diagonal := mean of
// the off-diagonal entries of its row; min-max scale all entries to [0, 1] (a constant matrix becomes all zeros).
// Embedding = U_d |Lambda_d|^{1/2} over the d eigenvalues of largest magnitude. dims = 0: choose_dims on the sorted
// magnitudes. Returns (n, dims).
Eigen::MatrixXd ase(const Eigen::MatrixXd& S, int dims);

// Zhu & Ghodsi (2006) profile-likelihood elbow: the q in [1, p] maximising the likelihood of splitting the sorted
// values into two normal groups {1..q}, {q+1..p} with separate means and a pooled variance. The values are sorted
// descending first. Returns 1 for p <= 2 or when all values are equal. Throws bad_input if empty or not finite.
int choose_dims(const Eigen::VectorXd& eigenvalues_desc);

}  // namespace strata::hier
