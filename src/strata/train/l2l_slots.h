// What the L2L executor holds on the device and in the stash, each in a small type named for what it holds: the two
// slab slots (the executing layer's, the next one's being prefetched), the saved-activation buffers of one
// (layer, micro-batch) pair, and the stash where activations wait between the forward and the backward pass.
#pragma once
#include <cstddef>
#include <utility>
#include <vector>

#include "strata/backend/backend.h"

namespace strata::train {

// A layer's parameter slab on the device.
struct DeviceSlab {
  int layer = -1;        // the layer it holds; -1: none, or stale (the EPS may have updated it since)
  Buffer buf;            // (slab floats) f32, or bf16 for a bf16 prefetch slot
  backend::Event ready;  // the copy that fills it
};

// The two slab slots. fp32: both hold slabs as fetched; when the prefetched layer starts executing the two trade
// places (a swap of handles, not a copy). bf16: only `incoming` is a fetched (bf16) slab; the executing layer runs
// from an fp32 working copy converted out of it, so `incoming` is free for the next prefetch as soon as a layer
// starts, and the two slots together hold 1.5 fp32 slabs instead of 2.
struct SlabSlots {
  DeviceSlab executing;  // (slab floats) f32: what the executing layer computes from
  DeviceSlab incoming;   // (slab floats) device dtype: the next layer, prefetched while the executing one computes

  // Forget what the slots hold (waiting for copies in flight): the EPS may update any layer between steps.
  void invalidate() {
    for (DeviceSlab* s : {&executing, &incoming}) {
      s->ready.wait();
      s->layer = -1;
    }
  }
  // fp32: the prefetched slab becomes the executing one, and the old executing slot takes the next prefetch.
  void promote_incoming() { std::swap(executing, incoming); }
};

// One device buffer of saved activations (what a layer's backward reads from its forward), with the last copy that
// moved it to or from the stash.
struct SavedActivations {
  Buffer buf;            // the largest layer's saved bytes for one micro-batch
  backend::Event moved;  // the copy to or from the stash that must finish before it is reused
};

// The saved-activation buffers of the (layer, micro-batch) pairs a pass walks through. With recompute for every
// layer there is one. When some layer's saved activations travel to the stash there are two, and consecutive pairs
// alternate between them, so that copying one pair's saved activations overlaps the next pair's compute.
class SavedPairs {
 public:
  bool alternating() const { return count_ == 2; }
  // Called by the plan's lay_out(), which places buffer(i) for i < count.
  void set_count(int n) { count_ = n; }
  SavedActivations& buffer(int i) { return bufs_[i]; }

  void restart() { pair_ = 0; }  // a pass begins
  void advance() { ++pair_; }    // the next (layer, micro-batch) pair
  SavedActivations& current() { return bufs_[alternating() ? pair_ % 2 : 0]; }
  SavedActivations& following() { return bufs_[alternating() ? (pair_ + 1) % 2 : 0]; }  // the next pair's
  void wait_moves() {
    for (SavedActivations& s : bufs_) s.moved.wait();
  }

 private:
  SavedActivations bufs_[2];
  int count_ = 1;
  int pair_ = 0;
};

// Where the stash's parts are, for one step shape (the plan computes it).
struct StashLayout {
  Space space = Space::kStash;                 // host stash space, or the device with --stash device
  int boundaries = 0;                          // layer outputs kept: of layers 0..L-2
  std::size_t output_bytes = 0;                // (B, T, C) device dtype: one layer's output for the whole batch
  std::size_t output_micro_bytes = 0;          // (b, T, C) device dtype: of one micro-batch
  std::size_t grad_micro_bytes = 0;            // (b, T, C) f32: an output gradient of one micro-batch
  std::size_t grad_bytes = 0;                  // (B, T, C) f32: the output gradient of the whole batch
  std::vector<std::size_t> saved_micro_bytes;  // per layer: its saved activations for one micro-batch
  std::vector<std::size_t> saved_offset;       // per layer whose saved activations are stashed: where they start
  std::size_t saved_total = 0;                 // (B/b) micro-batches of every stashed layer's saved activations

  // The layer outputs followed by the output gradient.
  std::size_t activations_total() const { return boundaries * output_bytes + grad_bytes; }
};

// The stash: every layer's output (the next layer's input) for the whole batch in the device dtype, the output
// gradient of the layer the backward is at (fp32), and the saved activations of the layers that skip the recompute.
struct ActivationStash {
  StashLayout at;
  Buffer activations;  // (L-1, B, T, C) layer outputs in the device dtype, then (B, T, C) f32 output gradients
  Buffer saved;        // per stashed layer, (B/b) x its saved activations for one micro-batch

  // Layer l's output for micro-batch m.
  void* output(int l, int m) const {
    return activations.as<char>() + l * at.output_bytes + static_cast<std::size_t>(m) * at.output_micro_bytes;
  }
  // The gradient of the current layer's output for micro-batch m (the backward's relay between layers).
  void* output_grad(int m) const {
    return activations.as<char>() + at.boundaries * at.output_bytes + static_cast<std::size_t>(m) * at.grad_micro_bytes;
  }
  // Layer l's saved activations for micro-batch m (layers whose saved activations are stashed only).
  void* saved_of(int l, int m) const {
    return saved.as<char>() + at.saved_offset[l] + static_cast<std::size_t>(m) * at.saved_micro_bytes[l];
  }
  std::size_t saved_bytes(int l) const { return at.saved_micro_bytes[l]; }
};

}  // namespace strata::train
