// Fused optimizers over one contiguous fp32 slab (a layer's params, grads and moments, DESIGN.md §3): one pass reads
// p, g, m, v and writes p, m, v (and optionally a bf16 copy of p), vectorised and split over the thread pool.
// Results never depend on the thread count: updates are per element and norms reduce fixed chunks in a fixed order.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "strata/core/thread_pool.h"

namespace strata::train {

struct AdamWParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 1e-2f;
};

// One torch.optim.AdamW step (decoupled weight decay, bias correction, same operation order as PyTorch 1.13):
//   g' = g * grad_scale;  p *= 1 - lr*wd;  m = b1*m + (1-b1)*g';  v = b2*v + (1-b2)*g'^2
//   denom = sqrt(v) / sqrt(1 - b2^step) + eps;  p -= lr / (1 - b1^step) * m / denom
// step is 1-based. p_bf16_out (n elements, or null) receives the updated p rounded to bf16 in the same pass.
void adamw_step(ThreadPool& pool, float* p, const float* g, float* m, float* v, std::size_t n,
                const AdamWParams& hp, std::int64_t step, float grad_scale = 1.0f,
                std::uint16_t* p_bf16_out = nullptr);

struct LambParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-6f;
  float weight_decay = 1e-2f;
  bool bias_correction = true;
};

// A named tensor inside a slab: elements [offset, offset + size).
struct Segment {
  std::size_t offset = 0;
  std::size_t size = 0;
};

// One LAMB step (You et al. 2020, as NVIDIA apex FusedLAMB without its own grad clipping):
//   g' = g * grad_scale;  m, v as Adam;  u = (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps) + wd * p
//   r = ||p|| / ||u|| per segment (1 when either norm is 0);  p -= lr * r * u
// The trust ratio is per SEGMENT: pass one (offset, size) per named tensor for per-tensor ratios (the usual LAMB),
// or an empty span for one ratio over the whole slab. Segments must be in increasing order, disjoint and inside
// [0, n); elements outside every segment are left untouched. Throws internal_error on a bad segment list.
void lamb_step(ThreadPool& pool, float* p, const float* g, float* m, float* v, std::size_t n, const LambParams& hp,
               std::int64_t step, std::span<const Segment> segments = {}, float grad_scale = 1.0f,
               std::uint16_t* p_bf16_out = nullptr);

// sqrt(sum of squares) over several gradient slabs, accumulated in double over fixed chunks in a fixed order.
using GradSpan = std::pair<const float*, std::size_t>;
double global_grad_norm(ThreadPool& pool, std::span<const GradSpan> grads);
double sum_squares(ThreadPool& pool, const float* x, std::size_t n);

// torch.nn.utils.clip_grad_norm_'s factor: min(1, max_norm / (norm + 1e-6)); 1 when max_norm <= 0 (no clipping).
// A non-finite norm gives NaN, as in PyTorch, so callers that skip non-finite steps must test the norm first.
float clip_factor(double norm, double max_norm);

// What an executor or the EPS runs per layer slab.
struct OptimConfig {
  std::string name = "adamw";  // "adamw" (torch.optim.AdamW) or "lamb" (one trust ratio per layer slab)
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = -1.0f;           // < 0: the optimizer's usual default (AdamW 1e-8, LAMB 1e-6)
  float weight_decay = 0.01f;  // decoupled, on every parameter (as torch.optim.AdamW(model.parameters()))
  double clip = 1.0;           // global gradient-norm clipping threshold; <= 0: none
};
// bad_input unless name is adamw or lamb.
void validate(const OptimConfig& c);

// One update of a layer slab with the configured optimizer (step 1-based, grad_scale from clipping, optional bf16
// copy of the result).
void optimizer_step(ThreadPool& pool, const OptimConfig& c, float* p, const float* g, float* m, float* v,
                    std::size_t n, double lr, std::int64_t step, float grad_scale = 1.0f,
                    std::uint16_t* p_bf16_out = nullptr);

// True when an element's update depends on that element alone (AdamW; LAMB's trust ratio needs whole-tensor norms):
// a slab may then be updated piece by piece, in any order, with bit-identical results.
bool elementwise(const OptimConfig& c);
// optimizer_step over disjoint pieces [offset, offset + size) of one slab (offsets from p, g, m, v and p_bf16_out);
// elementwise optimizers only (internal_error otherwise).
void optimizer_step_pieces(ThreadPool& pool, const OptimConfig& c, float* p, const float* g, float* m, float* v,
                           std::span<const Segment> pieces, double lr, std::int64_t step, float grad_scale = 1.0f,
                           std::uint16_t* p_bf16_out = nullptr);

}  // namespace strata::train
