// One post-LN BERT encoder block, exactly as Hugging Face's BertLayer: self-attention (query/key/value linears, key
// padding mask, dropout on the probabilities), attention.output.dense + dropout + residual + LayerNorm, then
// intermediate.dense + GELU (erf) and output.dense + dropout + residual + LayerNorm.
#pragma once
#include "strata/nn/layer.h"

namespace strata::nn {

struct EncoderLayerConfig {
  int hidden = 0;                  // C
  int heads = 0;                   // NH, divides C
  int intermediate = 0;            // I, usually 4C
  float hidden_dropout = 0.0f;     // after attention.output.dense and output.dense
  float attention_dropout = 0.0f;  // on the attention probabilities
  float layer_norm_eps = 1e-12f;
};

// Dropout sites (the `site` of Ctx::dropout_key).
inline constexpr int kSiteAttentionProbs = 0, kSiteAttentionOutput = 1, kSiteFfnOutput = 2;

class EncoderLayer final : public Layer {
 public:
  explicit EncoderLayer(const EncoderLayerConfig& cfg);  // bad_input on a non-positive size or C % NH != 0
  std::string kind() const override { return "encoder"; }
  const std::vector<ParamSpec>& params() const override { return specs_; }
  std::size_t param_floats() const override { return floats_; }
  std::size_t saved_bytes(int B, int T) const override;
  std::size_t workspace_bytes(int B, int T) const override;
  int width() const override { return cfg_.hidden; }
  const EncoderLayerConfig& config() const { return cfg_; }

  void forward(const Ctx& ctx, const float* params, const Activation& in, Activation& out, void* saved,
               void* workspace) const override;
  void backward(const Ctx& ctx, const float* params, const Activation& in, const void* saved, const float* dout,
                float* din, float* dparams, void* workspace) const override;

 private:
  EncoderLayerConfig cfg_;
  std::vector<ParamSpec> specs_;
  std::size_t floats_ = 0;
};

}  // namespace strata::nn
