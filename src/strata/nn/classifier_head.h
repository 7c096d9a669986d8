// BERT's sequence-classification head, as Hugging Face's BertPooler + BertForSequenceClassification: dense + tanh on
// the [CLS] token, dropout, a linear classifier, and softmax cross-entropy whose gradient is scaled by
// Ctx::loss_scale (1/batch for HF's mean over the batch, however the batch is split into micro-batches).
#pragma once
#include "strata/nn/layer.h"

namespace strata::nn {

struct ClassifierHeadConfig {
  int hidden = 0;        // C
  int num_labels = 0;    // K
  float dropout = 0.0f;  // on the pooled output (HF: classifier_dropout, else hidden_dropout_prob)
};

inline constexpr int kSitePooled = 0;

class ClassifierHead final : public Layer {
 public:
  explicit ClassifierHead(const ClassifierHeadConfig& cfg);
  std::string kind() const override { return "classifier_head"; }
  // Names are full HF names (the head straddles "bert.pooler." and "classifier."): the model gives it no prefix.
  const std::vector<ParamSpec>& params() const override { return specs_; }
  std::size_t param_floats() const override { return floats_; }
  std::size_t saved_bytes(int B, int T) const override;
  std::size_t workspace_bytes(int B, int T) const override;
  int width() const override { return cfg_.num_labels; }
  const ClassifierHeadConfig& config() const { return cfg_; }

  // Writes out.logits (B, K); with in.labels also out.losses (B) and the softmax for the backward; and out.pooled
  // (B, C) when non-null (for embeddings).
  void forward(const Ctx& ctx, const float* params, const Activation& in, Activation& out, void* saved,
               void* workspace) const override;
  // Needs in.labels; dout is ignored (the gradient starts at the loss, scaled by ctx.loss_scale).
  void backward(const Ctx& ctx, const float* params, const Activation& in, const void* saved, const float* dout,
                float* din, float* dparams, void* workspace) const override;

 private:
  ClassifierHeadConfig cfg_;
  std::vector<ParamSpec> specs_;
  std::size_t floats_ = 0;
};

}  // namespace strata::nn
