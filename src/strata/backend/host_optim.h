// Fused optimizers and gradient norms over host memory (one contiguous fp32 slab: a layer's params, grads and
// moments, DESIGN.md §3): the CPU backend's update ops run these, and so does the EPS on its own threads over the
// master weights it keeps in the host space. Results never depend on the thread count.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>

#include "strata/backend/optim.h"
#include "strata/core/thread_pool.h"

namespace strata::backend::host {

// One torch.optim.AdamW step (decoupled weight decay, bias correction, same operation order as PyTorch 1.13):
//   g' = g * grad_scale;  p *= 1 - lr*wd;  m = b1*m + (1-b1)*g';  v = b2*v + (1-b2)*g'^2
//   denom = sqrt(v) / sqrt(1 - b2^step) + eps;  p -= lr / (1 - b1^step) * m / denom
// step is 1-based. p_bf16_out (n elements, or null) receives the updated p rounded to bf16 in the same pass.
void adamw_step(ThreadPool& pool, float* p, const float* g, float* m, float* v, std::size_t n, const AdamWParams& hp,
                std::int64_t step, float grad_scale = 1.0f, std::uint16_t* p_bf16_out = nullptr);

// adamw_step over disjoint pieces [offset, offset + size) of one slab (offsets from p, g, m, v and p_bf16_out), in
// any order: AdamW is per element, so the result is bit-identical to one adamw_step over the pieces.
void adamw_step_pieces(ThreadPool& pool, float* p, const float* g, float* m, float* v, std::span<const Segment> pieces,
                       const AdamWParams& hp, std::int64_t step, float grad_scale = 1.0f,
                       std::uint16_t* p_bf16_out = nullptr);

// One LAMB step (You et al. 2020, as NVIDIA apex FusedLAMB without its own grad clipping):
//   g' = g * grad_scale;  m, v as Adam;  u = (m / (1-b1^step)) / (sqrt(v / (1-b2^step)) + eps) + wd * p
//   r = ||p|| / ||u|| per segment (1 when either norm is 0);  p -= lr * r * u
// The trust ratio is per SEGMENT: pass one (offset, size) per named tensor for per-tensor ratios (the usual LAMB),
// or an empty span for one ratio over the whole slab. Segments must be in increasing order, disjoint and inside
// [0, n); elements outside every segment are left untouched. Throws internal_error on a bad segment list.
void lamb_step(ThreadPool& pool, float* p, const float* g, float* m, float* v, std::size_t n, const LambParams& hp,
               std::int64_t step, std::span<const Segment> segments = {}, float grad_scale = 1.0f,
               std::uint16_t* p_bf16_out = nullptr, const CombineNorms& combine = {});

// Sum of squares / sqrt of it over several slabs, accumulated in double over fixed chunks in a fixed order.
double sum_squares(ThreadPool& pool, const float* x, std::size_t n);
double global_grad_norm(ThreadPool& pool, std::span<const GradSpan> grads);

}  // namespace strata::backend::host
