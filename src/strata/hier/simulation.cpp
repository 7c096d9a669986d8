// Simulated hierarchical data: group centres -> class means -> samples, optionally embedded from a latent space.
#include "strata/hier/simulation.h"

#include <cmath>
#include <string>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::hier {

namespace {

int latent_dims(const SimSpec& s) {
  if (s.informative > 0) return s.informative;
  return s.features == "pretrained" ? std::min(s.dims, 16) : s.dims;
}

// Class names c00, c01, ...: zero-padded so that they sort in class order (two digits up to 100 classes).
std::vector<std::string> class_names(int K) {
  const int width = std::max(2, static_cast<int>(std::to_string(std::max(0, K - 1)).size()));
  std::vector<std::string> names;
  for (int c = 0; c < K; ++c) {
    std::string id = std::to_string(c);
    names.push_back("c" + std::string(width - id.size(), '0') + id);
  }
  return names;
}

// (K, p) class means, group-major; draws exactly as strata's original 2-D generator did for the circle layout.
std::vector<std::vector<double>> class_means(const SimSpec& s, int p, Rng& rng, std::vector<int>& group_of_class) {
  const int K = s.groups * s.classes_per_group;
  const double sg = std::sqrt(s.sigma2_group), sb = std::sqrt(s.sigma2_between);
  std::vector<std::vector<double>> mean(K, std::vector<double>(p, 0.0));
  group_of_class.assign(K, 0);
  for (int g = 0; g < s.groups; ++g) {
    std::vector<double> centre(p, 0.0);
    if (s.sigma2_between > 0) {
      for (int j = 0; j < p; ++j) centre[j] = sb * rng.normal();
    } else {
      // (±1, ±1) for four groups; more continue around the circle of the same radius.
      const double angle = M_PI / 4 + g * 2 * M_PI / s.groups;
      centre[0] = std::sqrt(2.0) * std::cos(angle);
      centre[1] = std::sqrt(2.0) * std::sin(angle);
    }
    for (int i = 0; i < s.classes_per_group; ++i) {
      const int c = g * s.classes_per_group + i;
      group_of_class[c] = g;
      for (int j = 0; j < p; ++j) mean[c][j] = centre[j] + sg * rng.normal();
    }
  }
  return mean;
}

// Rows of `per_class` samples for every class, class-major. embed: (dims, p) row-major, empty in gaussian mode.
void fill_rows(const SimSpec& s, const std::vector<std::vector<double>>& mean, const std::vector<double>& embed,
               int per_class, const char* source, Rng& rng, data::Dataset& ds) {
  const int K = static_cast<int>(mean.size()), p = static_cast<int>(mean.empty() ? 0 : mean[0].size());
  const double sc = std::sqrt(s.sigma2_class), sn = std::sqrt(s.sigma2_noise);
  ds = data::Dataset();
  ds.d = static_cast<std::size_t>(s.dims);
  ds.n = static_cast<std::size_t>(K) * per_class;
  ds.source = source;
  ds.classes = class_names(K);
  ds.x.reserve(ds.n * ds.d);
  ds.y.reserve(ds.n);
  std::vector<double> z(p);
  for (int c = 0; c < K; ++c)
    for (int i = 0; i < per_class; ++i) {
      if (embed.empty()) {
        for (int j = 0; j < s.dims; ++j) ds.x.push_back(static_cast<float>((j < p ? mean[c][j] : 0.0) + sc * rng.normal()));
      } else {
        for (int j = 0; j < p; ++j) z[j] = mean[c][j] + sc * rng.normal();
        for (int j = 0; j < s.dims; ++j) {
          double v = sn * rng.normal();
          for (int k = 0; k < p; ++k) v += embed[static_cast<std::size_t>(j) * p + k] * z[k];
          ds.x.push_back(static_cast<float>(v));
        }
      }
      ds.y.push_back(c);
    }
}

}  // namespace

void validate(const SimSpec& s) {
  if (s.groups < 1) bad_input("--groups: expected >= 1, found ", s.groups);
  if (s.classes_per_group < 1) bad_input("--classes-per-group: expected >= 1, found ", s.classes_per_group);
  if (s.groups * s.classes_per_group < 2)
    bad_input("--groups × --classes-per-group: expected at least 2 classes, found ", s.groups * s.classes_per_group);
  if (s.dims < 1) bad_input("--dims: expected >= 1, found ", s.dims);
  if (s.features != "gaussian" && s.features != "pretrained")
    bad_input("--features: expected one of gaussian, pretrained; got \"", s.features, "\"");
  if (s.informative < 0 || (s.features == "gaussian" && s.informative > s.dims))
    bad_input("--informative: expected 0..", s.dims, " (the number of dims), found ", s.informative);
  if (s.sigma2_between == 0 && latent_dims(s) < 2)
    bad_input("--informative: the circle layout (--sigma2-between 0) needs at least 2 informative dims, found ",
              latent_dims(s));
  if (!(s.sigma2_group >= 0)) bad_input("--sigma2-group: expected >= 0, found ", s.sigma2_group);
  if (!(s.sigma2_class > 0)) bad_input("--sigma2-class: expected > 0, found ", s.sigma2_class);
  if (!(s.sigma2_between >= 0)) bad_input("--sigma2-between: expected >= 0, found ", s.sigma2_between);
  if (!(s.sigma2_noise >= 0)) bad_input("--sigma2-noise: expected >= 0, found ", s.sigma2_noise);
  if (s.train_per_class < 1) bad_input("--samples-per-class: expected >= 1, found ", s.train_per_class);
  if (s.test_per_class < 1) bad_input("--test-per-class: expected >= 1, found ", s.test_per_class);
}

void simulate_data(const SimSpec& spec, std::uint64_t seed, data::Dataset& train, data::Dataset& test,
                   std::vector<int>& group_of_class) {
  validate(spec);
  Rng rng(seed);
  const int p = latent_dims(spec);
  const auto mean = class_means(spec, p, rng, group_of_class);
  std::vector<double> embed;  // (dims, p)
  if (spec.features == "pretrained") {
    embed.resize(static_cast<std::size_t>(spec.dims) * p);
    const double scale = 1.0 / std::sqrt(static_cast<double>(p));
    for (double& a : embed) a = scale * rng.normal();
  }
  fill_rows(spec, mean, embed, spec.train_per_class, "simulation:train", rng, train);
  fill_rows(spec, mean, embed, spec.test_per_class, "simulation:test", rng, test);
}

void simulate_data(int groups, int classes_per_group, int n_train, int n_test, double sigma2_group, double sigma2_class,
                   std::uint64_t seed, data::Dataset& train, data::Dataset& test, std::vector<int>& group_of_class) {
  SimSpec s;
  s.groups = groups;
  s.classes_per_group = classes_per_group;
  s.dims = 2;
  s.sigma2_group = sigma2_group;
  s.sigma2_class = sigma2_class;
  s.train_per_class = n_train;
  s.test_per_class = n_test;
  simulate_data(s, seed, train, test, group_of_class);
}

}  // namespace strata::hier
