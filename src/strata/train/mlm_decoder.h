// The masked-LM head under the L2L schedule (issue 14): the decoder is tied to the word table (V x C), the largest
// tensor of the model, which the device must never hold whole. So the stage streams the table through the device in
// chunks of vocabulary rows, each chunk once per pass across all micro-batches (as a layer's slab), with an online
// log-sum-exp over the chunks:
//   forward:  per micro-batch, gather the predicted positions' hidden states and run the transform (dense, GELU,
//             LayerNorm) -> t (M_m, C), stashed; then per chunk c (rows [v0, v0 + Vc) of the table, fetched from the
//             param-server while the previous chunk computes), per micro-batch: logits = t W_c^T + bias_c, folded
//             into each row's running max / sum / label logit / best guess. Loss = log-sum-exp - label logit.
//   backward: per chunk, per micro-batch: the logits again, dlogits = (softmax - onehot) / M, dt += dlogits W_c,
//             dW_c = dlogits^T t (accumulated over the micro-batches, then written into the param-server's gradient
//             of the word table, rows [v0, v0 + Vc)), dbias_c into the head's gradient slab; then per micro-batch the
//             transform's backward, its input gradient scattered back to the (b, T, C) positions.
// Device memory: two chunks of Vc x C (bf16: plus an fp32 working chunk), one chunk gradient, t and dt of one
// micro-batch (b*T rows at most), one logits tile (b*T x Vc), and per-position statistics of the step (B*T). None of
// it grows with the vocabulary: Vc is fixed by the hidden size.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/model/bert.h"
#include "strata/nn/mlm_head.h"
#include "strata/train/eps.h"

namespace strata::train {

// Vocabulary rows per decoder chunk for a model: min(V, max(128, 2 C)).
int mlm_chunk_rows(const model::Bert& model);
// Floats of encoder or head slab l that cross to the device: the whole slab, except that the masked-LM head leaves
// its output bias (V floats, the slab's tail) to the decoder stage, which streams it with the table's chunks.
std::size_t relay_slab_floats(const model::Bert& model, int l);

// The stage's buffers for one step shape (placed by L2LPlan::lay_out).
struct MlmDecoderBuffers {
  Buffer chunk[2];   // (Vc, C) device dtype: the executing chunk of the word table and the next one, prefetched
  Buffer bias[2];    // (Vc) device dtype: the output bias of the same vocabulary rows
  Buffer chunk_f32;  // (Vc, C) f32: the working copy of a bf16 chunk (bf16 only)
  Buffer bias_f32;   // (Vc) f32: the same for its bias (bf16 only)
  Buffer dchunk;     // (Vc, C) f32: the chunk's gradient, accumulated over the micro-batches
  Buffer dbias;      // (Vc) f32: the chunk's bias gradient
  Buffer t, dt;      // (b*T, C) f32: one micro-batch's transformed rows and their gradient
  Buffer tile;       // (b*T, Vc) f32: logits of one micro-batch and chunk, then their gradient (in place)
  Buffer stats;      // (B*T, 4) f32: per predicted position, running max, sum, label logit, best logit
  Buffer best;       // (B*T) int32: the best guess so far
  Buffer labels;     // (B*T) int32: the labels of the step's predicted positions, in order
  Buffer lse;        // (B*T) f32: log-sum-exp per position (backward)
  Buffer t_stash;    // (B*T, C) f32, stash space: every micro-batch's t
  Buffer dt_stash;   // (B*T, C) f32, stash space: every micro-batch's dt, accumulated over the chunks

  // C: hidden size, Vc: rows per chunk (mlm_chunk_rows), a step of B x T in micro-batches of b, elem: bytes per
  // float of the device dtype, stash: the stash's space.
  template <class Place>
  void lay_out(std::size_t C, std::size_t Vc, int B, int T, int b, std::size_t elem, Space stash, Place&& place) {
    const std::size_t rows = static_cast<std::size_t>(b) * T, all = static_cast<std::size_t>(B) * T;
    place(chunk[0], Space::kDevice, Vc * C * elem, "MLM decoder chunk");
    place(chunk[1], Space::kDevice, Vc * C * elem, "MLM decoder chunk, prefetched");
    place(bias[0], Space::kDevice, Vc * elem, "MLM output bias chunk");
    place(bias[1], Space::kDevice, Vc * elem, "MLM output bias chunk, prefetched");
    if (elem != sizeof(float)) {
      place(chunk_f32, Space::kDevice, Vc * C * sizeof(float), "MLM decoder fp32 chunk");
      place(bias_f32, Space::kDevice, Vc * sizeof(float), "MLM output bias fp32 chunk");
    }
    place(dchunk, Space::kDevice, Vc * C * sizeof(float), "MLM decoder chunk gradient");
    place(dbias, Space::kDevice, Vc * sizeof(float), "MLM output bias chunk gradient");
    place(t, Space::kDevice, rows * C * sizeof(float), "MLM transformed rows");
    place(dt, Space::kDevice, rows * C * sizeof(float), "MLM transformed rows gradient");
    place(tile, Space::kDevice, rows * Vc * sizeof(float), "MLM logits tile");
    place(stats, Space::kDevice, all * 4 * sizeof(float), "MLM log-sum-exp statistics");
    place(best, Space::kDevice, all * sizeof(std::int32_t), "MLM best guesses");
    place(labels, Space::kDevice, all * sizeof(std::int32_t), "MLM labels");
    place(lse, Space::kDevice, all * sizeof(float), "MLM log-sum-exp");
    place(t_stash, stash, all * C * sizeof(float), "MLM transformed rows stash");
    place(dt_stash, stash, all * C * sizeof(float), "MLM transformed rows gradient stash");
  }
};

// What the forward measured: the sum of the per-position losses, positions predicted, argmax == label.
struct MlmPassResult {
  double loss_sum = 0.0;
  std::int64_t predicted = 0, correct = 0;
};

class MlmDecoderStage {
 public:
  explicit MlmDecoderStage(const model::Bert& model);  // model.head() == kMaskedLm

  // Starts a step: token_labels (B, T) host, the original id at predicted positions and model::kIgnore (-100)
  // elsewhere, split into micro-batches of b rows. bad_input for a label outside the vocabulary. Uploads the
  // labels; returns the positions predicted.
  std::int64_t set_labels(backend::Backend& be, MlmDecoderBuffers& bufs, const std::int32_t* token_labels, int B, int T,
                          int b);
  int predicted(int m) const { return static_cast<int>(positions_[m].size()); }

  // Micro-batch m's transform forward from the last encoder layer's output x (b, T, C) on the device: its predicted
  // rows gathered into `rows` (b*T x C scratch), the transform into bufs.t, stashed. saved/workspace: the head
  // layer's (MlmHeadLayer sizes).
  void transform_forward(const nn::Ctx& ctx, const float* w, const float* x, int m, float* rows,
                         MlmDecoderBuffers& bufs, void* saved);
  // The chunk loop of the forward over every micro-batch.
  MlmPassResult decode_forward(const nn::Ctx& ctx, EagerParamServer& eps, MlmDecoderBuffers& bufs, std::size_t elem);
  // The chunk loop of the backward: dt of every micro-batch into the stash; the gradients of the word table and of
  // the output bias straight into the param-server's gradient slabs (layer 0's table, the head's tail), every row
  // written.
  void decode_backward(const nn::Ctx& ctx, EagerParamServer& eps, MlmDecoderBuffers& bufs, std::size_t elem);
  // Micro-batch m's transform backward: recomputes the transform from x (b, T, C), accumulates its parameter
  // gradient into dw and writes the rows' gradients into dx (b, T, C; the caller zeroes it) at the predicted
  // positions.
  // rows, drows: (b*T x C) scratch.
  void transform_backward(const nn::Ctx& ctx, const float* w, const float* x, int m, float* rows, float* drows,
                          float* dx, float* dw, MlmDecoderBuffers& bufs, void* saved, void* workspace);

 private:
  // Queues chunk c of the word table from the param-server into bufs.chunk[c % 2].
  void issue_chunk(backend::Backend& be, int c, EagerParamServer& eps, MlmDecoderBuffers& bufs, std::size_t elem);
  // Chunk c (rows and bias) in fp32 on the device once its copies are done (bf16: widened); queues chunk c + 1
  // into the other slot (chunk 0 is queued here when c is 0).
  struct Chunk {
    const float* w;  // (vc, C)
    const float* b;  // (vc)
  };
  Chunk chunk(backend::Backend& be, int c, EagerParamServer& eps, MlmDecoderBuffers& bufs, std::size_t elem);
  // bufs.t <- micro-batch m's stashed t (unless it holds it already).
  void load_t(backend::Backend& be, int m, MlmDecoderBuffers& bufs);
  int chunks() const { return (V_ + Vc_ - 1) / Vc_; }
  int chunk_size(int c) const { return std::min(Vc_, V_ - c * Vc_); }

  const model::Bert& model_;
  const nn::MlmHead& head_;
  int C_ = 0, V_ = 0, Vc_ = 0;
  std::vector<std::vector<std::int32_t>> positions_;  // per micro-batch: predicted token indices (row * T + t)
  std::vector<std::int64_t> offset_;                  // per micro-batch: its first row among the step's positions
  std::vector<std::int32_t> labels_;                  // the step's labels, in order
  std::vector<float> lse_;                            // their log-sum-exp (forward -> backward)
  backend::Event chunk_ready_[2], bias_ready_[2];
  int t_holds_ = -1;  // the micro-batch whose t bufs.t holds
};

}  // namespace strata::train
