// BertConfig: a BERT encoder's shape and regularisation under Hugging Face's config.json field names, plus the
// classification labels; JSON in/out and the usual size presets (tiny ... large).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace strata::model {

// Limits on a config's sizes (validate() refuses beyond them): far above any BERT that exists (BERT-large:
// vocabulary 30522, hidden 1024, 24 layers, 512 positions), low enough that a hostile config.json is refused by its
// numbers before anything is allocated.
constexpr int kMaxVocabSize = 1 << 24;
constexpr int kMaxHiddenSize = 1 << 16;
constexpr int kMaxLayers = 1024;
constexpr int kMaxPositions = 1 << 20;

struct BertConfig {
  int vocab_size = 30522;
  int hidden_size = 768;
  int num_hidden_layers = 12;
  int num_attention_heads = 12;
  int intermediate_size = 3072;
  std::string hidden_act = "gelu";  // the only activation supported: GELU, erf form
  float hidden_dropout_prob = 0.1f;
  float attention_probs_dropout_prob = 0.1f;
  std::optional<float> classifier_dropout;  // null: hidden_dropout_prob (as HF)
  int max_position_embeddings = 512;
  int type_vocab_size = 2;
  float layer_norm_eps = 1e-12f;
  float initializer_range = 0.02f;
  int pad_token_id = 0;
  int num_labels = 2;
  std::vector<std::string> id2label;  // num_labels names; empty: "LABEL_0", "LABEL_1", ... (HF's default)

  // bad_input naming the field(s) on any inconsistency (e.g. hidden_size not a multiple of num_attention_heads).
  void validate() const;
  std::string label(int i) const;  // id2label[i] or "LABEL_i"
  float pooled_dropout() const { return classifier_dropout.value_or(hidden_dropout_prob); }
};

// HF config.json fields (model_type "bert", architectures, id2label/label2id, ...). `source` names the file in errors.
nlohmann::json to_json(const BertConfig& cfg);
// Unknown fields are ignored (HF configs carry many); known ones are type-checked; the result is validated.
BertConfig bert_config_from_json(const nlohmann::json& j, std::string_view source = "config");
BertConfig load_bert_config(const std::string& path);
void save_bert_config(const BertConfig& cfg, const std::string& path);  // atomic write

// "tiny" (L2 H128 A2), "mini" (L4 H256 A4), "small" (L4 H512 A8), "medium" (L8 H512 A8), "base" (L12 H768 A12),
// "large" (L24 H1024 A16); intermediate_size = 4H, BERT's vocabulary and positions. bad_input on another name.
BertConfig bert_preset(std::string_view name, int num_labels = 2);
const std::vector<std::string>& bert_preset_names();

}  // namespace strata::model
