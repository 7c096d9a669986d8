// The simulated data sets of the regime study: the authors' hierarchical Gaussians (group centres, class means
// around them, samples around those) in any number of dimensions, and a "pre-trained features" mode where the
// class means come from such a hierarchy in a low-dimensional latent space embedded into many dimensions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "strata/data/dataset.h"

namespace strata::hier {

struct SimSpec {
  int groups = 4;
  int classes_per_group = 4;
  int dims = 2;  // feature dimensions
  // gaussian: the first `informative` dims carry the class means, the rest are noise (0: all dims).
  // pretrained: the latent dimension the hierarchy lives in (0: min(dims, 16)).
  int informative = 0;
  double sigma2_group = 0.1;  // spread of class means around their group centre (each latent / informative dim)
  double sigma2_class = 0.1;  // spread of samples around their class mean (per dim; pretrained: in the latent space)
  // Group centres: 0 puts them on the circle of radius √2 in the first two dims, at (±1, ±1) for four groups
  // (the authors' layout); > 0 draws each centre from N(0, sigma2_between I) over the informative / latent dims.
  double sigma2_between = 0;
  std::string features = "gaussian";  // gaussian | pretrained
  double sigma2_noise = 0.1;          // pretrained: isotropic noise added to every embedded dim
  int train_per_class = 20;
  int test_per_class = 100;
};

// bad_input naming the field unless the spec is usable (counts >= 1, variances >= 0, informative <= dims, ...).
void validate(const SimSpec& s);

// Draws (train, test) and the true group of every class. Classes are named c00, c01, ... (group-major), rows are
// class-major. With the defaults (gaussian, 2 dims, circle layout) the draws are exactly those strata has always
// made, so old tables reproduce. Pretrained: latent class means m_c as in the gaussian mode (in `informative`
// dims), a fixed random map A (dims × latent, entries N(0, 1/latent)), rows A (m_c + e) + n with
// e ~ N(0, sigma2_class I), n ~ N(0, sigma2_noise I).
void simulate_data(const SimSpec& spec, std::uint64_t seed, data::Dataset& train, data::Dataset& test,
                   std::vector<int>& group_of_class);

// The original 2-D form: simulate_data({groups, classes_per_group, 2, ...}).
void simulate_data(int groups, int classes_per_group, int n_train, int n_test, double sigma2_group, double sigma2_class,
                   std::uint64_t seed, data::Dataset& train, data::Dataset& test, std::vector<int>& group_of_class);

}  // namespace strata::hier
