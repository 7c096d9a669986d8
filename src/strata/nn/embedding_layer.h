// BERT's embeddings, as Hugging Face's BertEmbeddings: word + token type + absolute position embeddings, LayerNorm,
// dropout. The word row of the padding token gets no gradient (nn.Embedding's padding_idx).
#pragma once
#include "strata/nn/layer.h"

namespace strata::nn {

struct EmbeddingConfig {
  int vocab = 0;          // V
  int hidden = 0;         // C
  int max_positions = 0;  // rows of the position table: T may not exceed it
  int type_vocab = 0;     // S: rows of the token type table (0: no token type embedding)
  int pad_token_id = 0;   // row of the word table that never receives a gradient; -1: none
  float dropout = 0.0f;   // after the LayerNorm
  float layer_norm_eps = 1e-12f;
};

inline constexpr int kSiteEmbeddings = 0;

class EmbeddingLayer final : public Layer {
 public:
  explicit EmbeddingLayer(const EmbeddingConfig& cfg);
  std::string kind() const override { return "embeddings"; }
  const std::vector<ParamSpec>& params() const override { return specs_; }
  std::size_t param_floats() const override { return floats_; }
  std::size_t saved_bytes(int B, int T) const override;
  std::size_t workspace_bytes(int B, int T) const override;
  int width() const override { return cfg_.hidden; }
  const EmbeddingConfig& config() const { return cfg_; }
  // The word table is the slab's first tensor: vocab rows of hidden floats from offset 0; the rest follows it.
  std::size_t word_table_floats() const { return static_cast<std::size_t>(cfg_.vocab) * cfg_.hidden; }

  // bad_input when T exceeds max_positions or a token (or token type) id is outside its table, naming the position.
  void check_tokens(const std::int32_t* ids, const std::int32_t* segs, int B, int T) const;
  // Checks the tokens (check_tokens) first.
  void forward(const Ctx& ctx, const float* params, const Activation& in, Activation& out, void* saved,
               void* workspace) const override;
  // din must be null (ids have no gradient).
  void backward(const Ctx& ctx, const float* params, const Activation& in, const void* saved, const float* dout,
                float* din, float* dparams, void* workspace) const override;

 private:
  EmbeddingConfig cfg_;
  std::vector<ParamSpec> specs_;
  std::size_t floats_ = 0;
};

}  // namespace strata::nn
