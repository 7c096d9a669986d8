// A BERT sequence classifier as a stack of Layers over one layer-major parameter vector (DESIGN.md §3):
// [embeddings][encoder layer 0] ... [encoder layer L-1][pooler + classifier], each slab 64-byte aligned, every
// tensor under its Hugging Face name; HF's initialisation; and a whole-model forward+backward driver that keeps
// everything resident (the tests' reference and the seed of the baseline executor).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/model/config.h"
#include "strata/nn/embedding_layer.h"
#include "strata/nn/layer.h"

namespace strata::model {

// One named tensor of the whole model.
struct TensorInfo {
  std::string name;  // full HF name, e.g. "bert.encoder.layer.3.attention.self.query.weight"
  std::vector<std::int64_t> shape;
  int layer = 0;           // index into the stack
  std::size_t offset = 0;  // floats from the start of the parameter vector
  std::size_t numel = 0;
};

// The stack's last slab: a sequence classifier (pooler + classifier, BertForSequenceClassification) or the
// masked-LM head (cls.predictions: transform + output bias, BertForMaskedLM; its decoder is tied to the word table,
// nn/mlm_head.h MlmHeadLayer, run by an executor's decoder stage).
enum class Head : std::uint8_t { kClassifier, kMaskedLm };

class Bert {
 public:
  explicit Bert(const BertConfig& cfg, Head head = Head::kClassifier);  // validates cfg
  const BertConfig& config() const { return cfg_; }
  Head head() const { return head_; }

  // Stack: 0 embeddings, 1..L encoder layers, L+1 the head.
  int num_layers() const { return static_cast<int>(layers_.size()); }
  const nn::Layer& layer(int i) const { return *layers_.at(i); }
  const nn::EmbeddingLayer& embeddings() const;                       // layer 0
  const std::string& prefix(int i) const { return prefixes_.at(i); }  // "bert.encoder.layer.3." etc.; "" for the head
  std::size_t slab_offset(int i) const { return offsets_.at(i); }     // floats, a multiple of 16
  std::size_t slab_floats(int i) const { return layers_.at(i)->param_floats(); }
  std::size_t total_floats() const { return total_; }  // includes the (zero) alignment gaps between slabs

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(std::string_view name) const;  // null when absent

  // Hugging Face's _init_weights from a seed: linear and embedding weights ~ N(0, initializer_range), the padding
  // token's word embedding 0, biases 0, LayerNorm weight 1 and bias 0. params: total_floats(); gaps are zeroed.
  // Each tensor draws from its own stream, so one slab can be initialised alone with the same result.
  void init(float* params, std::uint64_t seed) const;
  void init_slab(int layer, float* slab, std::uint64_t seed) const;

 private:
  BertConfig cfg_;
  Head head_ = Head::kClassifier;
  std::vector<std::unique_ptr<nn::Layer>> layers_;
  std::vector<std::string> prefixes_;
  std::vector<std::size_t> offsets_;
  std::size_t total_ = 0;
  std::vector<TensorInfo> tensors_;
};

// One batch of token sequences: host-readable arrays.
struct Batch {
  int B = 0, T = 0;
  const std::int32_t* ids = nullptr;     // (B, T)
  const std::int32_t* segs = nullptr;    // (B, T) or null
  const float* key_mask = nullptr;       // (B, T) 1 token / 0 padding, or null
  const std::int32_t* labels = nullptr;  // (B) or null: forward only, no loss
  // Masked-LM models (Head::kMaskedLm) instead of labels: (B, T) the original id at predicted positions, -100
  // (model::kIgnore) elsewhere.
  const std::int32_t* token_labels = nullptr;
};

// Whole-model forward (+ backward) with every layer resident and every activation saved. The batch is split into
// micro_batches equal parts run one after the other; gradients accumulate over them into `grads` (which the caller
// zeroes) as the gradient of the MEAN loss over the whole batch. Parameters, gradients and the batch must be memory
// the backend computes on (any memory on the CPU backend). Work buffers come from the backend's device arena.
class FullModelRunner {
 public:
  FullModelRunner(const Bert& model, backend::Backend& be);
  // Returns the mean cross-entropy over the batch (0 without labels). grads null: forward only.
  // ctx supplies seed, step and training; layer_index, micro_batch and loss_scale are set here.
  // keep_pooled: also copy the head's pooled [CLS] vectors (B, C) to pooled().
  double run(const float* params, float* grads, const Batch& batch, const nn::Ctx& ctx, int micro_batches = 1,
             bool keep_pooled = false);
  const std::vector<float>& logits() const { return logits_; }  // (B, K) of the last run
  const std::vector<float>& losses() const { return losses_; }  // (B) of the last run (with labels)
  const std::vector<float>& pooled() const { return pooled_; }  // (B, C) of the last run with keep_pooled
  // Device bytes the runner allocates for micro-batches of b sequences of T tokens (without keep_pooled).
  static std::size_t device_bytes(const Bert& model, int b, int T);

 private:
  void ensure(int B, int T);

  const Bert& model_;
  backend::Backend& be_;
  int B_ = -1, T_ = -1;
  std::vector<Buffer> saved_;  // per layer
  std::vector<Buffer> acts_;   // (b, T, C) output of layer i, i < L + 1
  Buffer workspace_, grad_a_, grad_b_, logits_dev_, losses_dev_, pooled_dev_;
  std::vector<float> logits_, losses_, pooled_;
};

}  // namespace strata::model
