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

  // The transform alone (dense + GELU + LayerNorm), for a decoder run elsewhere (the L2L executor streams the tied
  // decoder through the device by vocabulary chunks, train/mlm_decoder.h). transform_forward writes t (M, C), the
  // decoder's input, and fills `saved` (transform_saved_bytes(M)); transform_backward ACCUMULATES dx (M, C) and the
  // transform's part of dparams from dt (M, C). Its workspace is transform_workspace_bytes(M).
  std::size_t transform_saved_bytes(int M) const;
  std::size_t transform_workspace_bytes(int M) const;
  void transform_forward(const Ctx& ctx, const float* params, const float* x, int M, float* t, void* saved) const;
  void transform_backward(const Ctx& ctx, const float* params, const float* x, int M, const void* saved,
                          const float* dt, float* dx, float* dparams, void* workspace) const;
  // Offset of the output bias (V floats) in the slab.
  std::size_t bias_offset() const { return specs_.back().offset; }

 private:
  MlmHeadConfig cfg_;
  std::vector<ParamSpec> specs_;
  std::size_t floats_ = 0;
};

// The MLM head as the last slab of a layer stack (model::Bert with Head::kMaskedLm), so that a param-server and the
// L2L planner see it as one more layer: its slab is MlmHead's (transform + output bias), its saved activations and
// workspace those of the transform over every token of a micro-batch (the most positions that can be predicted).
// The decoder it needs is tied to the embeddings' word table, which no single slab holds, so it cannot run through
// the plain Layer interface: forward/backward are an internal error, and the executor runs it (train/mlm_decoder.h).
class MlmHeadLayer final : public Layer {
 public:
  explicit MlmHeadLayer(const MlmHeadConfig& cfg) : head_(cfg) {}
  const MlmHead& head() const { return head_; }
  std::string kind() const override { return "mlm_head"; }
  const std::vector<ParamSpec>& params() const override { return head_.params(); }
  std::size_t param_floats() const override { return head_.param_floats(); }
  std::size_t saved_bytes(int B, int T) const override { return head_.transform_saved_bytes(B * T); }
  std::size_t workspace_bytes(int B, int T) const override { return head_.transform_workspace_bytes(B * T); }
  int width() const override { return head_.config().vocab; }
  void forward(const Ctx& ctx, const float* params, const Activation& in, Activation& out, void* saved,
               void* workspace) const override;
  void backward(const Ctx& ctx, const float* params, const Activation& in, const void* saved, const float* dout,
                float* din, float* dparams, void* workspace) const override;

 private:
  MlmHead head_;
};

}  // namespace strata::nn
