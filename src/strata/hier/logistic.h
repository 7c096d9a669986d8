// Multinomial (softmax) logistic regression with an L2 penalty on the weights, fitted by full-batch L-BFGS with
// GEMM-computed gradients: the linear base learner of the hierarchy toolkit and a flat baseline.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "strata/hier/classifier.h"

namespace strata::hier {

class LogisticRegression : public Classifier {
 public:
  explicit LogisticRegression(LogisticConfig cfg = {}) : cfg_(cfg) {}

  using Classifier::fit;            // the cancellable overload: checks once, before fitting
  using Classifier::predict_proba;  // the pooled overload: BLAS brings its own threads
  std::string kind() const override { return "logistic"; }
  int num_classes() const override { return n_classes_; }
  // Minimises (1/n) sum_i -log p(y_i | x_i) + l2/2 |W|^2 (W in standardized units when standardize is on;
  // intercepts unpenalised). Classes with no examples get probability exactly 0.
  void fit(const float* x, std::size_t n, std::size_t d, const std::int32_t* y, int n_classes) override;
  void predict_proba(const float* x, std::size_t n, std::size_t d, float* proba) const override;
  void save(Writer& w) const override;
  void load(Reader& r) override;

  // The fitted model in the original feature units: logits = x W^T + b.
  const std::vector<float>& weights() const { return w_; }     // (num_classes, d)
  const std::vector<float>& intercepts() const { return b_; }  // (num_classes)
  int iterations() const { return iterations_; }               // L-BFGS iterations of the last fit
  double final_loss() const { return loss_; }                  // objective at the returned solution
  const LogisticConfig& config() const { return cfg_; }

 private:
  LogisticConfig cfg_;
  int n_classes_ = 0;
  std::size_t d_ = 0;
  std::vector<float> w_;               // (n_classes, d)
  std::vector<float> b_;               // (n_classes)
  std::vector<std::uint8_t> present_;  // (n_classes) 1 if the class had training examples
  int iterations_ = 0;
  double loss_ = 0.0;
};

}  // namespace strata::hier
