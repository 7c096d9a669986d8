// The optimizers as train sees them: the configured optimizer (adamw or lamb) applied to one layer slab, either on
// host memory with a thread pool (the EPS) or through a Backend where the slab lives (the baseline executor). The
// fused kernels themselves live in backend/host_optim.h (host) and behind Backend's update ops (any backend).
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "strata/backend/backend.h"
#include "strata/backend/host_optim.h"
#include "strata/backend/optim.h"
#include "strata/core/thread_pool.h"

namespace strata::train {

using backend::AdamWParams;
using backend::clip_factor;
using backend::CombineNorms;
using backend::GradSpan;
using backend::LambParams;
using backend::Segment;

// Host kernels (formulas on backend::host::adamw_step / lamb_step), kept under their train names.
using backend::host::adamw_step;
using backend::host::global_grad_norm;
using backend::host::lamb_step;
using backend::host::sum_squares;

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
// The hyper-parameters the configured optimizer runs with at learning rate lr.
AdamWParams adamw_params(const OptimConfig& c, double lr);
LambParams lamb_params(const OptimConfig& c, double lr);

// One update of a layer slab with the configured optimizer (step 1-based, grad_scale from clipping, optional bf16
// copy of the result), on host memory with `pool`. combine: for a slab shared between processes, sums LAMB's
// per-segment norms over them (AdamW ignores it).
void optimizer_step(ThreadPool& pool, const OptimConfig& c, float* p, const float* g, float* m, float* v, std::size_t n,
                    double lr, std::int64_t step, float grad_scale = 1.0f, std::uint16_t* p_bf16_out = nullptr,
                    const CombineNorms& combine = {});
// The same update through the backend's ops (Backend::adamw_step / lamb_step), on memory the backend computes on;
// on the CPU backend bit-identical to the host form.
void optimizer_step(backend::Backend& be, const OptimConfig& c, float* p, const float* g, float* m, float* v,
                    std::size_t n, double lr, std::int64_t step, float grad_scale = 1.0f,
                    std::uint16_t* p_bf16_out = nullptr, const CombineNorms& combine = {});

// True when an element's update depends on that element alone (AdamW; LAMB's trust ratio needs whole-tensor norms):
// a slab may then be updated piece by piece, in any order, with bit-identical results.
bool elementwise(const OptimConfig& c);
// optimizer_step over disjoint pieces [offset, offset + size) of one slab (offsets from p, g, m, v and p_bf16_out);
// elementwise optimizers only (internal_error otherwise).
void optimizer_step_pieces(ThreadPool& pool, const OptimConfig& c, float* p, const float* g, float* m, float* v,
                           std::span<const Segment> pieces, double lr, std::int64_t step, float grad_scale = 1.0f,
                           std::uint16_t* p_bf16_out = nullptr);

}  // namespace strata::train
