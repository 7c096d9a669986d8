// The L2L executor's device plan: every buffer it keeps on the device and in the stash for a step of B x T in
// micro-batches of b, laid out by one function (L2LPlan::lay_out) that both counts them for the planner (the exit-3
// minimum, --micro-batch auto, --recompute auto) and allocates them, so the two cannot drift.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/model/bert.h"
#include "strata/train/executor.h"
#include "strata/train/executor_internal.h"
#include "strata/train/l2l_slots.h"
#include "strata/train/mlm_decoder.h"

namespace strata::train {

// Everything the L2L schedule keeps for one step shape, allocated together from one L2LPlan.
struct L2LBuffers {
  SlabSlots slabs;        // the executing layer's slab and the next one's, prefetched
  Buffer grad;            // (slab floats) f32: the executing layer's gradient, accumulated over the micro-batches
  Buffer token_ids;       // (B, T) int32: the batch's ids remapped to its packed word rows (CompactEmbeddings)
  Buffer input, output;   // (b, T, C) f32: one micro-batch's layer input (fetched from the stash) and output
  Buffer output_grad;     // (b, T, C) f32: d(layer output), fetched from the stash
  Buffer input_grad;      // (b, T, C) f32: d(layer input), accumulated by the backward, then stashed
  Buffer bf16_staging;    // (b, T, C) bf16: activations on their way to or from the stash (bf16 only)
  SavedPairs saved;       // one or two of the largest layer's saved activations for one micro-batch
  Buffer workspace;       // the largest layer's workspace for one micro-batch
  Buffer logits;          // (b, K) f32
  Buffer losses;          // (b) f32: per-example losses
  DeviceBatch batch;      // (B, T) token arrays of the step
  ActivationStash stash;  // layer outputs, output gradients and saved activations between the passes
  MlmDecoderBuffers mlm;  // masked-LM models: the decoder stage's chunks, tiles and statistics
};

class L2LPlan {
 public:
  int B = 0, T = 0, b = 0;          // the step shape and its micro-batch
  bool bf16 = false;                // slabs and stashed activations travel as bf16
  std::vector<char> stashed;        // per layer: saved activations stashed (else its forward is recomputed)
  std::size_t slab_floats = 0;      // the largest slab on the device (layer 0 with at most min(V, B*T) rows)
  std::size_t act_bytes = 0;        // (b, T, C) f32: one micro-batch's activations
  std::size_t saved_bytes = 0;      // the largest layer's saved activations for one micro-batch
  std::size_t workspace_bytes = 0;  // the largest layer's workspace for one micro-batch
  std::size_t labels = 0;           // K (0 for a masked-LM model)
  int hidden = 0;                   // C
  int mlm_chunk = 0;                // masked-LM models: vocabulary rows per decoder chunk; 0: a classifier
  StashLayout stash;

  // Calls place(buffer, space, bytes, what) for every buffer of `bufs` this plan uses (see CountBytes and
  // AllocateBuffers): the one place the L2L device layout is written down.
  template <class Place>
  void lay_out(L2LBuffers& bufs, Place&& place) const {
    const std::size_t slab_f32 = slab_floats * sizeof(float);
    place(bufs.slabs.executing.buf, Space::kDevice, slab_f32, bf16 ? "L2L fp32 working slab" : "L2L slab slot");
    place(bufs.slabs.incoming.buf, Space::kDevice, slab_floats * elem(), "L2L slab slot");
    place(bufs.grad, Space::kDevice, slab_f32, "L2L gradient slab");
    place(bufs.token_ids, Space::kDevice, static_cast<std::size_t>(B) * T * sizeof(std::int32_t), "remapped token ids");
    place(bufs.input, Space::kDevice, act_bytes, "layer input");
    place(bufs.output, Space::kDevice, act_bytes, "layer output");
    place(bufs.output_grad, Space::kDevice, act_bytes, "output gradient");
    place(bufs.input_grad, Space::kDevice, act_bytes, "input gradient");
    if (bf16) place(bufs.bf16_staging, Space::kDevice, act_bytes / 2, "bf16 activation conversion");
    // A second saved buffer when saved activations travel to the stash, so their copies overlap compute.
    bufs.saved.set_count(any_stashed() ? 2 : 1);
    place(bufs.saved.buffer(0).buf, Space::kDevice, saved_bytes, "saved activations of one layer");
    if (any_stashed()) place(bufs.saved.buffer(1).buf, Space::kDevice, saved_bytes, "saved activations, second buffer");
    place(bufs.workspace, Space::kDevice, workspace_bytes, "layer workspace");
    place(bufs.logits, Space::kDevice, b * labels * sizeof(float), "logits");
    place(bufs.losses, Space::kDevice, b * sizeof(float), "losses");
    bufs.batch.lay_out(B, T, place);
    bufs.stash.at = stash;
    place(bufs.stash.activations, stash.space, stash.activations_total(), "L2L stash");
    if (any_stashed()) place(bufs.stash.saved, stash.space, stash.saved_total, "L2L saved-activation stash");
    if (mlm_chunk > 0) bufs.mlm.lay_out(hidden, mlm_chunk, B, T, b, elem(), stash.space, place);
  }

  std::size_t device_bytes() const { return bytes_in(Space::kDevice); }
  // What the stash holds (in stash.space): layer outputs, an output gradient, stashed saved activations, and for a
  // masked-LM model the transformed rows and their gradient (B*T x C f32 each, at most).
  std::size_t stash_bytes() const {
    const std::size_t mlm = mlm_chunk > 0 ? 2 * static_cast<std::size_t>(B) * T * hidden * sizeof(float) : 0;
    return stash.activations_total() + stash.saved_total + mlm;
  }
  std::size_t elem() const { return bf16 ? sizeof(std::uint16_t) : sizeof(float); }          // of slabs and the stash
  bool any_stashed() const;
  int recomputed_layers() const;

 private:
  std::size_t bytes_in(Space space) const;
};

// Makes plans for one model and executor options, and chooses the one prepare() allocates.
class L2LPlanner {
 public:
  L2LPlanner(const model::Bert& model, const ExecutorOptions& options);

  // The plan for a step of B x T in micro-batches of b, with the layers marked in `stashed` stashing their saved
  // activations.
  L2LPlan plan(int B, int T, int b, const std::vector<char>& stashed) const;
  // What --recompute on / off stash before prepare() decides.
  std::vector<char> initial_stashed() const;

  // prepare()'s choice for a step of B x T: the micro-batch (--micro-batch, or the largest that fits the device)
  // and, for --recompute auto, which layers stash their saved activations. bad_input when the micro-batch does not
  // divide B; resource_error naming the smallest budget that works when the device budget cannot hold it.
  L2LPlan choose(backend::Backend& be, int B, int T) const;
  // resource_error naming the smallest --stash-memory that works when the host stash budget cannot hold `plan`.
  void check_stash_budget(backend::Backend& be, const L2LPlan& plan) const;

 private:
  int fitting(backend::Backend& be, int B, int T, const std::vector<char>& stashed) const;
  std::vector<char> choose_stashed(backend::Backend& be, int B, int T, int b) const;
  std::size_t max_slab_floats(int B, int T) const;
  std::size_t layer_saved_stash(int l, int B, int T, int b) const;
  std::string device_parts(int B, int T) const;

  const model::Bert& model_;
  ExecutorOptions opt_;
};

}  // namespace strata::train
