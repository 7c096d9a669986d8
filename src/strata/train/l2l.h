// The layer-to-layer (L2L) relay executor (Pudipeddi et al., arXiv 2002.05645): the device holds only the executing
// layer. For a step of B examples in k micro-batches:
//   forward, for each layer l (embeddings, encoder layers, head): make sure slab l is on the device (it was
//     prefetched into the second slot while layer l-1 ran), run l over the k micro-batches, stash each
//     micro-batch's output (the next layer's input) in the stash space;
//   backward, for each layer from the top: for each micro-batch reload its stashed input and output gradient,
//     recompute the layer's forward, run its backward, accumulate the parameter gradient on the device; then copy
//     the gradient slab to the eager param-server (train/eps.h), which updates the layer while the device goes on.
// Device memory: two slab slots of the largest layer (bf16: one bf16 slot and an fp32 working copy), one gradient slab,
// one micro-batch's layer input/output/gradients, saved activations and workspace of one layer, the batch's
// tokens, and the stash when --stash device. None of it grows with depth. L2LPlan (train/l2l_plan.h) lays all of
// it out, for the planner and for the allocation alike.
#pragma once
#include <memory>

#include "strata/train/executor.h"

namespace strata::train {

std::unique_ptr<Executor> make_l2l_executor(const model::Bert& model, backend::Backend& be,
                                            const ExecutorOptions& options);

}  // namespace strata::train
