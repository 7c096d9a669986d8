// The Layer interface (DESIGN.md §3): one stage of a transformer stack with its parameters in one contiguous slab of
// named tensors, a forward that saves what its backward needs in caller-owned memory, and a backward that accumulates
// parameter gradients. A Layer knows nothing of executors: they own memory, schedule and copies.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "strata/backend/backend.h"

namespace strata::nn {

// One named tensor inside a layer's slab. The name is the Hugging Face name relative to the prefix the model gives
// the layer (e.g. "attention.self.query.weight" under "bert.encoder.layer.3."). offset counts floats from the slab
// start.
struct ParamSpec {
  std::string name;
  std::vector<std::int64_t> shape;
  std::size_t offset = 0;
  std::size_t numel() const;
};

// Where a call runs and which random stream its dropout sites draw from. Dropout site s of a call uses
// backend::dropout_key(seed, step, layer_index, micro_batch, s) (backend/kernel_contract.h, the same on every
// backend), so calling forward again with the same Ctx (recompute) draws the same masks, and backward regenerates
// them without storing them.
struct Ctx {
  backend::Backend* be = nullptr;
  std::uint64_t seed = 0;
  std::int64_t step = 0;
  int layer_index = 0;  // position of the layer in its stack (embeddings 0, encoder layer i is i + 1, head L + 1)
  int micro_batch = 0;
  // Data parallel: this process runs global micro-batches micro_batch_base + micro_batch of the step, and its batch
  // is one of `ranks` equal shares of the global batch (the loss is a mean over all of them).
  int micro_batch_base = 0;
  int ranks = 1;
  bool training = false;  // false: every dropout is off
  // < 0: each site uses its layer's configured probability (HF configs have separate hidden and attention dropout);
  // >= 0: this probability at every dropout site (when training).
  float dropout = -1.0f;
  // d(total loss) / d(sum of this micro-batch's per-example losses): 1/(examples in the whole step) for a mean over
  // the step's batch however it is split into micro-batches. Read by the head's backward only.
  float loss_scale = 1.0f;

  // The probability a dropout site configured with `configured` uses in this call.
  float dropout_p(float configured) const { return !training ? 0.0f : dropout >= 0.0f ? dropout : configured; }

  std::uint64_t dropout_key(int site) const {
    return backend::dropout_key(seed, step, layer_index, micro_batch_base + micro_batch, site);
  }
};

// What flows into and out of a layer for one micro-batch of B sequences of T tokens. Non-owning; every pointer is
// in memory the backend computes on (the device space). Which fields a layer reads and writes:
//   embeddings:  reads ids (+ segs);                     writes x
//   encoder:     reads x (+ key_mask);                   writes x (of `out`)
//   head:        reads x (+ labels);                     writes logits (+ losses with labels, + pooled if asked)
// An executor fills the token fields (ids, segs, key_mask, labels) once per micro-batch and passes them along the
// stack, pointing x at the layer-boundary buffers.
struct Activation {
  int B = 0, T = 0;
  const std::int32_t* ids = nullptr;     // (B, T) token ids
  const std::int32_t* segs = nullptr;    // (B, T) token type ids, or null: all segment 0 (as HF without token_type_ids)
  const float* key_mask = nullptr;       // (B, T) 1 = real token, 0 = padding; null: no padding
  const std::int32_t* labels = nullptr;  // (B) class labels, or null (inference: no loss)
  float* x = nullptr;                    // (B, T, C) hidden states
  float* logits = nullptr;               // (B, K) head output
  float* losses = nullptr;               // (B) per-example cross-entropy (head output when labels are given)
  float* pooled = nullptr;               // (B, C) the head's pooled [CLS] vector (tanh, before dropout), if non-null

  std::size_t tokens() const { return static_cast<std::size_t>(B) * static_cast<std::size_t>(T); }
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual std::string kind() const = 0;  // "embeddings", "encoder", "classifier_head"

  // The slab: tensors in increasing offset order, packed; param_floats() is the slab size in floats.
  virtual const std::vector<ParamSpec>& params() const = 0;
  virtual std::size_t param_floats() const = 0;
  // Bytes of the caller-owned memory one micro-batch of (B, T) needs: `saved` lives from forward to backward;
  // `workspace` is scratch for the duration of one forward or backward call (its content never matters).
  virtual std::size_t saved_bytes(int B, int T) const = 0;
  virtual std::size_t workspace_bytes(int B, int T) const = 0;
  // Output width of `x` (C) — the embeddings and encoder write (B, T, C); the head writes (B, K) logits.
  virtual int width() const = 0;

  // Writes out (x, or logits/losses for the head) and fills `saved`. Deterministic for a given Ctx: calling it again
  // (recompute) gives bit-identical outputs and saved state.
  virtual void forward(const Ctx& ctx, const float* params, const Activation& in, Activation& out, void* saved,
                       void* workspace) const = 0;
  // ACCUMULATES (+=): dparams (param_floats(), same layout as params) and din (B, T, C) (null for the embeddings,
  // which have no float input). dout is the (B, T, C) gradient of `out.x`; the head ignores it and starts from its
  // loss scaled by ctx.loss_scale. `in` and `saved` must be what forward saw and wrote, with the same Ctx.
  virtual void backward(const Ctx& ctx, const float* params, const Activation& in, const void* saved, const float* dout,
                        float* din, float* dparams, void* workspace) const = 0;
};

// Lays sub-buffers out in a block of memory, each starting on a 64-byte boundary. With a null base it only counts,
// so one function can both size a layer's saved/workspace memory and carve it.
class Carver {
 public:
  explicit Carver(void* base) : base_(static_cast<char*>(base)) {}
  float* floats(std::size_t n) { return static_cast<float*>(take(n * sizeof(float))); }
  void* take(std::size_t bytes) {
    char* p = base_ ? base_ + used_ : nullptr;
    used_ += (bytes + 63) / 64 * 64;
    return p;
  }
  std::size_t bytes() const { return used_; }

 private:
  char* base_;
  std::size_t used_ = 0;
};

// Appends a tensor to a slab layout being built (offsets packed in order).
void add_param(std::vector<ParamSpec>& specs, std::size_t& next_offset, std::string name,
               std::vector<std::int64_t> shape);

}  // namespace strata::nn
