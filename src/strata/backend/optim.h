// The optimizer contract shared by every backend's update ops (Backend::adamw_step, lamb_step, sum_squares,
// global_grad_norm) and the host kernels the EPS runs (backend/host_optim.h): hyper-parameters, slab segments and the
// clipping factor. Formulas are spelled out on the Backend methods and the host kernels.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <span>
#include <utility>

namespace strata::backend {

struct AdamWParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 1e-2f;
};

// LAMB over a slab split between processes: called between the two passes with the per-segment squared norms
// of this process's part, [||p||² of each segment..., ||u||² of each segment...]; it sums them over the processes
// in place (the trust ratios then cover whole segments).
using CombineNorms = std::function<void(std::span<double> squared_norms)>;

struct LambParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-6f;
  float weight_decay = 1e-2f;
  bool bias_correction = true;
};

// A named tensor (or any piece) inside a slab: elements [offset, offset + size).
struct Segment {
  std::size_t offset = 0;
  std::size_t size = 0;
};

// One gradient slab for a norm: (first float, number of floats).
using GradSpan = std::pair<const float*, std::size_t>;

// torch.nn.utils.clip_grad_norm_'s factor: min(1, max_norm / (norm + 1e-6)); 1 when max_norm <= 0 (no clipping).
// A non-finite norm gives NaN, as in PyTorch, so callers that skip non-finite steps must test the norm first.
// A host scalar: a backend computes the norm where the gradients are and hands the factor back as grad_scale.
inline float clip_factor(double norm, double max_norm) {
  if (max_norm <= 0.0) return 1.0f;
  if (!std::isfinite(norm)) return std::numeric_limits<float>::quiet_NaN();
  return static_cast<float>(std::min(1.0, max_norm / (norm + 1e-6)));
}

}  // namespace strata::backend
