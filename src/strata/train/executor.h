// Executors own the training schedule (DESIGN.md §3): which slab is where, which activations are kept, when copies
// run and when the optimizer updates. One interface, step(batch) -> StepStats, so the trainer, the CLI and the
// tests drive the baseline executor (whole model on the device) and the L2L executor the same way.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "strata/backend/backend.h"
#include "strata/core/tensor.h"
#include "strata/dist/process_group.h"
#include "strata/model/bert.h"
#include "strata/train/optim.h"

namespace strata::train {

enum class Recompute : std::uint8_t { kAuto, kOn, kOff };
Recompute parse_recompute(const std::string& text, const char* what);  // auto | on | off, else bad_input
const char* recompute_name(Recompute r);

struct ExecutorOptions {
  int micro_batch = 8;     // examples per micro-batch (a step's batch must be a multiple); 0: auto (prepare())
  std::uint64_t seed = 0;  // dropout stream (with step, layer and micro-batch)
  OptimConfig optim;
  bool inference_only = false;  // no gradients or optimizer state (evaluate, embed)
  // Data parallel (null or a group of one: a single process). Each process steps on its equal share of every
  // global batch, in rank order: micro-batch dropout keys and the loss's mean are those of the global batch, and the
  // gradient is summed over the group before clipping and the update, so every process holds the same model.
  dist::ProcessGroup* group = nullptr;
  bool shard_optimizer = false;  // l2l, data parallel: each process keeps 1/N of the optimizer's moments (eps.h)
  // L2L only:
  Space stash = Space::kStash;       // where layer-boundary activations wait between forward and backward
  DType device_dtype = DType::kF32;  // slabs (and stashed activations) sent to the device as f32 or bf16
  int eps_threads = 2;               // the param-server's optimizer threads
  // kOn: stash each layer's input and recompute its forward in the backward (the L2L paper's schedule: least stash
  // memory, +1 forward of compute). kOff: stash what the layer's backward needs (its saved activations, fp32) and
  // skip the recompute: more stash bytes and copies, less compute; the device holds one more saved-activation
  // buffer so copies overlap compute. Same results either way. kAuto (prepare() decides): stash the saved
  // activations of as many layers as fit, encoder layers first, recompute the others -- as long as the micro-batch
  // stays what full recompute would get. What fits: the stash space's budget (--stash-memory; unset: half the host
  // memory available at planning time), or --device-memory for --stash device.
  Recompute recompute = Recompute::kAuto;
};

// What an executor reports beyond the arenas and traffic counters.
struct ExecutorStats {
  int micro_batch = 0;
  std::size_t eps_bytes = 0;  // host bytes the param-server holds (0 for the baseline)
  bool has_eps = false;
  bool eager = false;        // updates ran per layer as gradients completed (no global clipping)
  double eps_overlap = 0.0;  // fraction of EPS update time that ran while the device computed
  double eps_update_seconds = 0.0;
  std::size_t optimizer_bytes = 0;  // host bytes of the optimizer's moments (per process)
  double reduce_overlap = 0.0;      // data parallel (L2L): fraction of gradient-reduction time that ran while the
                                    // device computed
  int recomputed_layers = 0;  // L2L: layers whose forward the backward recomputes (the others' saved activations
                              // are stashed); what prepare() chose
};

struct StepStats {
  std::int64_t step = 0;   // 0-based index of this step
  double loss = 0.0;       // mean cross-entropy over the batch
  double grad_norm = 0.0;  // global L2 norm of the gradient, before clipping
  double lr = 0.0;         // learning rate used
  bool updated = true;     // false: the gradient was not finite and the update was skipped
  std::size_t tokens = 0;  // B * T, padding included
  double seconds = 0.0;    // wall time of the step
  // Masked-LM models: the loss is the mean over the predicted positions; how many, and how many the model's best
  // guess got right.
  std::int64_t predicted = 0, correct = 0;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string name() const = 0;
  virtual const model::Bert& model() const = 0;
  virtual backend::Backend& backend() = 0;

  // Plans device memory for steps of B x T and allocates it. With micro_batch 0 (auto) picks the largest micro-batch
  // dividing B that fits the device budget. Throws resource_error (exit 3) naming the smallest budget that would
  // work when nothing fits, bad_input when the micro-batch does not divide B. Returns the micro-batch. step() calls
  // it itself for a new shape.
  virtual int prepare(int B, int T) = 0;
  // Device bytes a step of B x T with micro-batch b needs (what prepare() checks against the budget).
  virtual std::size_t footprint(int B, int T, int b) const = 0;

  // One optimizer step over the batch (host arrays; labels required): forward and backward over its micro-batches
  // with gradient accumulation, global-norm clipping, then the update at learning rate lr.
  virtual StepStats step(const model::Batch& batch, double lr) = 0;
  // Forward only, dropout off. logits (B, K) and pooled (B, C) are host arrays; either may be null. Any B.
  virtual void infer(const model::Batch& batch, float* logits, float* pooled) = 0;
  // Forward only with the loss, dropout off, no update (held-out evaluation); loss, tokens, and for masked-LM models
  // predicted and correct are filled. The batch shape is a step's (prepare() is called for a new one). Executors
  // that do not implement it say so (bad_input).
  virtual StepStats evaluate(const model::Batch& batch);

  // Steps taken so far (the index of the next step; dropout keys and the schedule use it) and optimizer updates
  // applied (bias correction uses it; differs only when a non-finite step was skipped).
  virtual std::int64_t steps_done() const = 0;
  virtual std::int64_t updates_done() const = 0;

  // Training state as host arrays of model().total_floats() floats in the layer-major layout; m and v (the
  // optimizer's first and second moments) may be null when not wanted / not available (then they are zeroed).
  virtual void read_state(float* params, float* m, float* v) = 0;
  virtual void write_state(const float* params, const float* m, const float* v, std::int64_t steps_done,
                           std::int64_t updates_done) = 0;
  // The gradient of the last step (before clipping), host array in the same layout.
  virtual void read_grads(float* grads) = 0;
  virtual ExecutorStats stats() const = 0;
};

// "baseline": every slab, gradient, optimizer moment and saved activation on the device.
// "l2l": layer-to-layer relay with the eager param-server (train/l2l.h).
// bad_input for an unknown name or a bad option; resource_error (exit 3) when the device budget cannot hold it.
std::unique_ptr<Executor> make_executor(const std::string& name, const model::Bert& model, backend::Backend& be,
                                        const ExecutorOptions& options);

// The group's size and this process's rank (1 and 0 without a group).
inline int ranks_of(const ExecutorOptions& o) { return o.group ? o.group->size() : 1; }
inline int rank_of(const ExecutorOptions& o) { return o.group ? o.group->rank() : 0; }
// The step's loss: the mean over the global batch of the per-example losses (loss_sum over this process's B rows).
double global_mean_loss(const ExecutorOptions& o, double loss_sum, int B);

// Divisors of n, "1, 2, 4, 8" (for messages about micro-batches).
std::string divisors_of(int n);
// The largest divisor b of B with fits(b), or 0 if none.
int largest_fitting_divisor(int B, const std::function<bool(int)>& fits);

// FLOPs of one training step (forward + backward) as the benchmarks count them: 6 * non-embedding parameters *
// tokens + attention (QK^T and PV: 4 * B * T^2 * C forward, twice that backward, per layer).
double train_step_flops(const model::Bert& model, int B, int T);
std::size_t non_embedding_params(const model::Bert& model);

}  // namespace strata::train
