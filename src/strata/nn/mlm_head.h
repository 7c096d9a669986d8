// BERT's masked-language-model head, as Hugging Face's BertForMaskedLM (cls.predictions): transform = dense + GELU
// + LayerNorm, then a decoder whose weight is the word-embedding table (tied: passed in, and its gradient
// accumulated into the embeddings' gradient) plus its own output bias; softmax cross-entropy over the vocabulary.
// It runs on the M predicted positions only (gathered by the caller): HF computes logits everywhere and ignores
// label -100, which gives the same loss and gradients.
#pragma once
#include "strata/nn/layer.h"

namespace strata::nn {

struct MlmHeadConfig {
  int hidden = 0;  // C
  int vocab = 0;   // V
  float layer_norm_eps = 1e-12f;
};

class MlmHead {
 public:
  explicit MlmHead(const MlmHeadConfig& cfg);
  // Full HF names: cls.predictions.transform.{dense,LayerNorm}.{weight,bias}, cls.predictions.bias.
  const std::vector<ParamSpec>& params() const { return specs_; }
  std::size_t param_floats() const { return floats_; }
  std::size_t saved_bytes(int M) const;
  std::size_t workspace_bytes(int M) const;
  const MlmHeadConfig& config() const { return cfg_; }

  // x (M, C) hidden states of the predicted positions, wte (V, C) the word embeddings. Writes logits (M, V); with
  // labels (M) also losses (M) and the softmax for the backward.
  void forward(const Ctx& ctx, const float* params, const float* wte, const float* x, const std::int32_t* labels, int M,
               float* logits, float* losses, void* saved, void* workspace) const;
  // ACCUMULATES dx (M, C), dparams (param_floats()) and dwte (V, C); the gradient starts at the losses scaled by
  // ctx.loss_scale (1 / predicted positions of the whole step, HF's mean).
  void backward(const Ctx& ctx, const float* params, const float* wte, const float* x, const std::int32_t* labels,
                int M, const void* saved, float* dx, float* dparams, float* dwte, void* workspace) const;

 private:
  MlmHeadConfig cfg_;
  std::vector<ParamSpec> specs_;
  std::size_t floats_ = 0;
};

}  // namespace strata::nn
