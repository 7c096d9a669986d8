// The configured optimizer (OptimConfig) mapped onto the fused kernels: host kernels for the EPS, the backend's
// update ops for an executor whose slabs live where the backend computes.
#include "strata/train/optim.h"

#include "strata/core/error.h"

namespace strata::train {

void validate(const OptimConfig& c) {
  if (c.name != "adamw" && c.name != "lamb") bad_input("--optimizer: expected adamw or lamb, found '", c.name, "'");
}

bool elementwise(const OptimConfig& c) { return c.name == "adamw"; }

AdamWParams adamw_params(const OptimConfig& c, double lr) {
  AdamWParams hp;
  hp.lr = static_cast<float>(lr);
  hp.beta1 = c.beta1;
  hp.beta2 = c.beta2;
  hp.eps = c.eps < 0 ? 1e-8f : c.eps;
  hp.weight_decay = c.weight_decay;
  return hp;
}

LambParams lamb_params(const OptimConfig& c, double lr) {
  LambParams hp;
  hp.lr = static_cast<float>(lr);
  hp.beta1 = c.beta1;
  hp.beta2 = c.beta2;
  hp.eps = c.eps < 0 ? 1e-6f : c.eps;
  hp.weight_decay = c.weight_decay;
  return hp;
}

void optimizer_step(ThreadPool& pool, const OptimConfig& c, float* p, const float* g, float* m, float* v, std::size_t n,
                    double lr, std::int64_t step, float grad_scale, std::uint16_t* p_bf16_out,
                    const CombineNorms& combine) {
  validate(c);
  if (c.name == "adamw")
    adamw_step(pool, p, g, m, v, n, adamw_params(c, lr), step, grad_scale, p_bf16_out);
  else
    lamb_step(pool, p, g, m, v, n, lamb_params(c, lr), step, {}, grad_scale, p_bf16_out, combine);
}

void optimizer_step(backend::Backend& be, const OptimConfig& c, float* p, const float* g, float* m, float* v,
                    std::size_t n, double lr, std::int64_t step, float grad_scale, std::uint16_t* p_bf16_out,
                    const CombineNorms& combine) {
  validate(c);
  if (c.name == "adamw")
    be.adamw_step(p, g, m, v, n, adamw_params(c, lr), step, grad_scale, p_bf16_out);
  else
    be.lamb_step(p, g, m, v, n, lamb_params(c, lr), step, {}, grad_scale, p_bf16_out, combine);
}

void optimizer_step_pieces(ThreadPool& pool, const OptimConfig& c, float* p, const float* g, float* m, float* v,
                           std::span<const Segment> pieces, double lr, std::int64_t step, float grad_scale,
                           std::uint16_t* p_bf16_out) {
  STRATA_CHECK(elementwise(c), "optimizer_step_pieces: ", c.name, " is not elementwise");
  backend::host::adamw_step_pieces(pool, p, g, m, v, pieces, adamw_params(c, lr), step, grad_scale, p_bf16_out);
}

}  // namespace strata::train
