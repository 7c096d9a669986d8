// BERT for masked-language-model pre-training, as Hugging Face's BertForMaskedLM: the encoder of a Bert (its
// pooler/classifier slab is carried but unused) followed by the MLM head (nn/mlm_head.h) whose decoder is tied to
// bert.embeddings.word_embeddings.weight. One parameter vector: [Bert's layer-major slabs][MLM head slab]. The
// runner keeps every layer resident (the baseline schedule) and predicts only the positions with a label.
#pragma once
#include <memory>
#include <vector>

#include "strata/model/bert.h"
#include "strata/nn/mlm_head.h"

namespace strata::model {

// Labels for MLM: the original token id at a predicted position, kIgnore elsewhere (HF's -100).
inline constexpr std::int32_t kIgnore = -100;

class BertMlm {
 public:
  explicit BertMlm(const BertConfig& cfg);
  const Bert& bert() const { return bert_; }
  const nn::MlmHead& head() const { return head_; }
  std::size_t head_offset() const { return head_offset_; }
  std::size_t total_floats() const { return total_; }
  std::size_t word_embeddings_offset() const { return wte_offset_; }
  // The tensors a BertForMaskedLM checkpoint holds: the encoder's (no pooler, no classifier) and the head's.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // HF init of everything (Bert::init, then the head: dense ~ N(0, range), LayerNorm 1/0, output bias 0).
  void init(float* params, std::uint64_t seed) const;

 private:
  Bert bert_;
  nn::MlmHead head_;
  std::size_t head_offset_ = 0, total_ = 0, wte_offset_ = 0;
  std::vector<TensorInfo> tensors_;
};

// One MLM batch: host-readable (B, T) arrays; labels kIgnore where nothing is predicted.
struct MlmBatch {
  int B = 0, T = 0;
  const std::int32_t* ids = nullptr;     // (B, T) input ids, masked
  const float* key_mask = nullptr;       // (B, T) or null
  const std::int32_t* segs = nullptr;    // (B, T) or null
  const std::int32_t* labels = nullptr;  // (B, T) original ids at predicted positions, kIgnore elsewhere
};

struct MlmResult {
  double loss = 0.0;   // mean cross-entropy over the predicted positions (0 when none)
  int predicted = 0;   // positions with a label
  int correct = 0;     // of those, argmax of the logits == label
};

class MlmRunner {
 public:
  MlmRunner(const BertMlm& model, backend::Backend& be);
  // Forward (+ backward into grads, which the caller zeroes; the gradient of the mean loss). ctx: seed, step,
  // training. keep_logits: copy the (M, V) logits of the predicted positions (row-major order) to logits().
  MlmResult run(const float* params, float* grads, const MlmBatch& batch, const nn::Ctx& ctx, bool keep_logits = false);
  const std::vector<float>& logits() const { return logits_; }

 private:
  void ensure(int B, int T, int M);
  const BertMlm& model_;
  backend::Backend& be_;
  int B_ = -1, T_ = -1, M_ = -1;
  std::vector<Buffer> saved_, acts_;
  Buffer workspace_, grad_a_, grad_b_, rows_, drows_, head_saved_, head_ws_, logits_dev_, losses_dev_, labels_dev_;
  std::vector<float> logits_;
};

}  // namespace strata::model
