// BertConfig JSON (HF config.json field names), validation and presets.
#include "strata/model/config.h"

#include "strata/core/error.h"
#include "strata/core/label_tree.h"

namespace strata::model {

void BertConfig::validate() const {
  auto positive = [](const char* field, int v) {
    if (v <= 0) bad_input("bert config: ", field, " must be positive, got ", v);
  };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("intermediate_size", intermediate_size);
  positive("max_position_embeddings", max_position_embeddings);
  positive("num_labels", num_labels);
  if (type_vocab_size < 0) bad_input("bert config: type_vocab_size must be non-negative, got ", type_vocab_size);
  if (hidden_size % num_attention_heads != 0)
    bad_input("bert config: hidden_size (", hidden_size, ") is not a multiple of num_attention_heads (",
              num_attention_heads, ")");
  if (hidden_act != "gelu")
    bad_input("bert config: hidden_act \"", hidden_act, "\" is not supported (only \"gelu\", the erf form)");
  auto probability = [](const char* field, float p) {
    if (!(p >= 0.0f && p < 1.0f)) bad_input("bert config: ", field, " must be in [0, 1), got ", p);
  };
  probability("hidden_dropout_prob", hidden_dropout_prob);
  probability("attention_probs_dropout_prob", attention_probs_dropout_prob);
  if (classifier_dropout) probability("classifier_dropout", *classifier_dropout);
  if (!(layer_norm_eps > 0.0f)) bad_input("bert config: layer_norm_eps must be positive, got ", layer_norm_eps);
  if (!(initializer_range >= 0.0f))
    bad_input("bert config: initializer_range must be non-negative, got ", initializer_range);
  if (pad_token_id < 0 || pad_token_id >= vocab_size)
    bad_input("bert config: pad_token_id ", pad_token_id, " is outside [0, vocab_size = ", vocab_size, ")");
  if (!id2label.empty() && static_cast<int>(id2label.size()) != num_labels)
    bad_input("bert config: id2label has ", id2label.size(), " entries but num_labels is ", num_labels);
}

std::string BertConfig::label(int i) const {
  if (i >= 0 && i < static_cast<int>(id2label.size())) return id2label[i];
  return cat("LABEL_", i);
}

nlohmann::json to_json(const BertConfig& c) {
  nlohmann::json j;
  j["architectures"] = {"BertForSequenceClassification"};
  j["model_type"] = "bert";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["intermediate_size"] = c.intermediate_size;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  j["classifier_dropout"] = c.classifier_dropout ? nlohmann::json(*c.classifier_dropout) : nlohmann::json(nullptr);
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["type_vocab_size"] = c.type_vocab_size;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["initializer_range"] = c.initializer_range;
  j["pad_token_id"] = c.pad_token_id;
  j["position_embedding_type"] = "absolute";
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (int i = 0; i < c.num_labels; ++i) {
    id2label[std::to_string(i)] = c.label(i);
    label2id[c.label(i)] = i;
  }
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  return j;
}

namespace {

template <typename T>
void read_field(const nlohmann::json& j, std::string_view source, const char* field, T& out) {
  auto it = j.find(field);
  if (it == j.end()) return;
  if constexpr (std::is_same_v<T, int>) {
    if (!it->is_number_integer()) bad_input(source, ": field \"", field, "\" must be an integer, found ", it->dump());
    const auto v = it->get<std::int64_t>();
    if (v < -(1ll << 31) || v >= (1ll << 31)) bad_input(source, ": field \"", field, "\" is out of range: ", v);
    out = static_cast<int>(v);
  } else if constexpr (std::is_same_v<T, float>) {
    if (!it->is_number()) bad_input(source, ": field \"", field, "\" must be a number, found ", it->dump());
    out = it->get<float>();
  } else {
    if (!it->is_string()) bad_input(source, ": field \"", field, "\" must be a string, found ", it->dump());
    out = it->get<std::string>();
  }
}

}  // namespace

BertConfig bert_config_from_json(const nlohmann::json& j, std::string_view source) {
  if (!j.is_object()) bad_input(source, ": expected a JSON object, found ", j.type_name());
  BertConfig c;
  read_field(j, source, "vocab_size", c.vocab_size);
  read_field(j, source, "hidden_size", c.hidden_size);
  read_field(j, source, "num_hidden_layers", c.num_hidden_layers);
  read_field(j, source, "num_attention_heads", c.num_attention_heads);
  read_field(j, source, "intermediate_size", c.intermediate_size);
  read_field(j, source, "hidden_act", c.hidden_act);
  read_field(j, source, "hidden_dropout_prob", c.hidden_dropout_prob);
  read_field(j, source, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  read_field(j, source, "max_position_embeddings", c.max_position_embeddings);
  read_field(j, source, "type_vocab_size", c.type_vocab_size);
  read_field(j, source, "layer_norm_eps", c.layer_norm_eps);
  read_field(j, source, "initializer_range", c.initializer_range);
  read_field(j, source, "pad_token_id", c.pad_token_id);
  if (auto it = j.find("classifier_dropout"); it != j.end() && !it->is_null()) {
    float p = 0.0f;
    read_field(j, source, "classifier_dropout", p);
    c.classifier_dropout = p;
  }
  if (auto it = j.find("position_embedding_type"); it != j.end() && *it != "absolute")
    bad_input(source, ": position_embedding_type ", it->dump(), " is not supported (only \"absolute\")");
  bool have_labels = false;
  if (auto it = j.find("num_labels"); it != j.end()) {
    read_field(j, source, "num_labels", c.num_labels);
    have_labels = true;
  }
  if (auto it = j.find("id2label"); it != j.end()) {
    if (!it->is_object()) bad_input(source, ": field \"id2label\" must be an object, found ", it->dump());
    const int n = static_cast<int>(it->size());
    if (have_labels && n != c.num_labels)
      bad_input(source, ": id2label has ", n, " entries but num_labels is ", c.num_labels);
    c.num_labels = n;
    c.id2label.assign(n, "");
    for (int i = 0; i < n; ++i) {
      auto e = it->find(std::to_string(i));
      if (e == it->end()) bad_input(source, ": id2label has ", n, " entries but no key \"", i, "\"");
      if (!e->is_string()) bad_input(source, ": id2label[\"", i, "\"] must be a string, found ", e->dump());
      c.id2label[i] = e->get<std::string>();
    }
  }
  try {
    c.validate();
  } catch (const Error& e) {
    bad_input(source, ": ", e.what());
  }
  return c;
}

BertConfig load_bert_config(const std::string& path) {
  const std::string text = read_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    bad_input(path, ": not valid JSON at byte ", e.byte, ": ", e.what());
  } catch (const nlohmann::json::exception& e) {  // a number beyond double (1e309): out_of_range, not a parse_error
    bad_input(path, ": not valid JSON: ", e.what());
  }
  return bert_config_from_json(j, path);
}

void save_bert_config(const BertConfig& cfg, const std::string& path) {
  cfg.validate();
  write_file_atomic(path, to_json(cfg).dump(2) + "\n");
}

const std::vector<std::string>& bert_preset_names() {
  static const std::vector<std::string> names{"tiny", "mini", "small", "medium", "base", "large"};
  return names;
}

BertConfig bert_preset(std::string_view name, int num_labels) {
  struct Shape {
    const char* name;
    int layers, hidden, heads;
  };
  static const Shape shapes[] = {{"tiny", 2, 128, 2},   {"mini", 4, 256, 4},   {"small", 4, 512, 8},
                                 {"medium", 8, 512, 8}, {"base", 12, 768, 12}, {"large", 24, 1024, 16}};
  for (const Shape& s : shapes) {
    if (name != s.name) continue;
    BertConfig c;
    c.num_hidden_layers = s.layers;
    c.hidden_size = s.hidden;
    c.num_attention_heads = s.heads;
    c.intermediate_size = 4 * s.hidden;
    c.num_labels = num_labels;
    c.validate();
    return c;
  }
  std::string known;
  for (const auto& n : bert_preset_names()) known += (known.empty() ? "" : ", ") + n;
  bad_input("unknown model preset '", name, "' (expected one of: ", known, ")");
}

}  // namespace strata::model
