// Small BERT configurations for tests: every size named at the call site, everything else BertConfig's defaults.
//   small_bert({.vocab = 60, .hidden = 32, .layers = 3, .heads = 4, .intermediate = 64, .positions = 16, .labels = 4})
#pragma once
#include "strata/model/config.h"

namespace strata::testing {

struct SmallBert {
  int vocab = 40;
  int hidden = 16;
  int layers = 2;
  int heads = 2;
  int intermediate = 32;
  int positions = 16;
  int labels = 3;
  float dropout = -1.0f;  // >= 0: hidden and attention dropout; < 0: the config's default
};

inline model::BertConfig small_bert(const SmallBert& s) {
  model::BertConfig c;
  c.vocab_size = s.vocab;
  c.hidden_size = s.hidden;
  c.num_hidden_layers = s.layers;
  c.num_attention_heads = s.heads;
  c.intermediate_size = s.intermediate;
  c.max_position_embeddings = s.positions;
  c.num_labels = s.labels;
  if (s.dropout >= 0.0f) c.hidden_dropout_prob = c.attention_probs_dropout_prob = s.dropout;
  return c;
}

}  // namespace strata::testing
