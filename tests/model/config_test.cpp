// BertConfig: presets, JSON round trip under HF field names, reading HF-style configs, and clear errors.
#include "strata/model/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "strata/core/error.h"

namespace strata::model {
namespace {

std::string bad_input_message(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(BertConfig, PresetsHaveTheirShapes) {
  struct Want {
    const char* name;
    int l, h, a;
  } wants[] = {{"tiny", 2, 128, 2},   {"mini", 4, 256, 4},   {"small", 4, 512, 8},
               {"medium", 8, 512, 8}, {"base", 12, 768, 12}, {"large", 24, 1024, 16}};
  for (const Want& w : wants) {
    const BertConfig c = bert_preset(w.name, 7);
    EXPECT_EQ(c.num_hidden_layers, w.l) << w.name;
    EXPECT_EQ(c.hidden_size, w.h) << w.name;
    EXPECT_EQ(c.num_attention_heads, w.a) << w.name;
    EXPECT_EQ(c.intermediate_size, 4 * w.h) << w.name;
    EXPECT_EQ(c.num_labels, 7);
  }
  EXPECT_EQ(bert_preset_names().size(), 6u);
  EXPECT_NE(bad_input_message([] { bert_preset("huge"); }).find("tiny, mini"), std::string::npos);
}

TEST(BertConfig, JsonRoundTripKeepsEveryField) {
  BertConfig c = bert_preset("mini", 3);
  c.vocab_size = 1000;
  c.hidden_dropout_prob = 0.25f;
  c.attention_probs_dropout_prob = 0.05f;
  c.classifier_dropout = 0.4f;
  c.max_position_embeddings = 64;
  c.type_vocab_size = 1;
  c.initializer_range = 0.03f;
  c.id2label = {"cat", "dog", "emu"};
  const nlohmann::json j = to_json(c);
  EXPECT_EQ(j["model_type"], "bert");
  EXPECT_EQ(j["id2label"]["2"], "emu");
  EXPECT_EQ(j["label2id"]["dog"], 1);
  const std::string path = (std::filesystem::temp_directory_path() / "strata_bert_config_test.json").string();
  save_bert_config(c, path);
  const BertConfig r = load_bert_config(path);
  std::filesystem::remove(path);
  EXPECT_EQ(to_json(r), j);
  EXPECT_EQ(r.id2label, c.id2label);
  EXPECT_FLOAT_EQ(r.pooled_dropout(), 0.4f);
}

TEST(BertConfig, ReadsHuggingFaceStyleConfigs) {
  // Unknown fields are ignored; missing ones keep BERT-base defaults; num_labels follows id2label.
  const auto j = nlohmann::json::parse(R"({"architectures": ["BertForMaskedLM"], "hidden_size": 64,
      "num_attention_heads": 4, "num_hidden_layers": 3, "intermediate_size": 256, "transformers_version": "4.30",
      "classifier_dropout": null, "id2label": {"0": "neg", "1": "neu", "2": "pos"}})");
  const BertConfig c = bert_config_from_json(j, "cfg.json");
  EXPECT_EQ(c.hidden_size, 64);
  EXPECT_EQ(c.vocab_size, 30522);
  EXPECT_EQ(c.num_labels, 3);
  EXPECT_EQ(c.label(2), "pos");
  EXPECT_FALSE(c.classifier_dropout.has_value());
  EXPECT_FLOAT_EQ(c.pooled_dropout(), 0.1f);
}

TEST(BertConfig, BadConfigsNameTheFields) {
  auto parse = [](const char* text) { bert_config_from_json(nlohmann::json::parse(text), "cfg.json"); };
  std::string m = bad_input_message([&] { parse(R"({"hidden_size": 100, "num_attention_heads": 12})"); });
  EXPECT_NE(m.find("cfg.json"), std::string::npos) << m;
  EXPECT_NE(m.find("hidden_size (100)"), std::string::npos) << m;
  EXPECT_NE(m.find("num_attention_heads (12)"), std::string::npos) << m;
  m = bad_input_message([&] { parse(R"({"hidden_act": "relu"})"); });
  EXPECT_NE(m.find("hidden_act"), std::string::npos) << m;
  m = bad_input_message([&] { parse(R"({"num_hidden_layers": "12"})"); });
  EXPECT_NE(m.find("\"num_hidden_layers\" must be an integer"), std::string::npos) << m;
  m = bad_input_message([&] { parse(R"({"hidden_dropout_prob": 1.5})"); });
  EXPECT_NE(m.find("hidden_dropout_prob"), std::string::npos) << m;
  m = bad_input_message([&] { parse(R"({"num_labels": 3, "id2label": {"0": "a", "1": "b"}})"); });
  EXPECT_NE(m.find("id2label has 2 entries but num_labels is 3"), std::string::npos) << m;
  m = bad_input_message([&] { parse(R"({"id2label": {"0": "a", "5": "b"}})"); });
  EXPECT_NE(m.find("no key \"1\""), std::string::npos) << m;
  m = bad_input_message([&] { parse(R"({"position_embedding_type": "relative_key"})"); });
  EXPECT_NE(m.find("position_embedding_type"), std::string::npos) << m;
  m = bad_input_message([&] { parse(R"([1, 2])"); });
  EXPECT_NE(m.find("expected a JSON object"), std::string::npos) << m;
  const std::string path = (std::filesystem::temp_directory_path() / "strata_bad_config_test.json").string();
  { std::ofstream(path) << "{\"hidden_size\": "; }
  m = bad_input_message([&] { load_bert_config(path); });
  EXPECT_NE(m.find("not valid JSON"), std::string::npos) << m;
  // A number beyond double (nlohmann's out_of_range) escaped as exit 1 (found in label trees by fuzz/label_tree_fuzz.cpp).
  { std::ofstream(path) << "{\"layer_norm_eps\": 1e309}"; }
  m = bad_input_message([&] { load_bert_config(path); });
  std::filesystem::remove(path);
  EXPECT_NE(m.find(path + ": not valid JSON"), std::string::npos) << m;
}

TEST(BertConfig, AbsurdSizesAreRefusedByTheirLimits) {
  auto parse = [](const std::string& text) { bert_config_from_json(nlohmann::json::parse(text), "cfg.json"); };
  struct Case {
    const char* json;
    const char* expect;
  } cases[] = {
      {R"({"num_hidden_layers": 1000000})", "num_hidden_layers 1000000 exceeds the limit of 1024"},
      {R"({"vocab_size": 2147483647})", "vocab_size 2147483647 exceeds the limit of 16777216"},
      {R"({"hidden_size": 1073741824, "num_attention_heads": 1})", "hidden_size 1073741824 exceeds the limit of 65536"},
      {R"({"intermediate_size": 2000000000})", "intermediate_size 2000000000 exceeds the limit"},
      {R"({"max_position_embeddings": 100000000})", "max_position_embeddings 100000000 exceeds the limit"},
      {R"({"num_labels": 100000000})", "num_labels 100000000 exceeds the limit"},
      {R"({"num_attention_heads": 1000, "hidden_size": 768})", "num_attention_heads 1000 exceeds the limit of 768"},
      {R"({"type_vocab_size": 2000000000})", "type_vocab_size 2000000000 exceeds the limit"},
      {R"({"vocab_size": 4294967296})", "\"vocab_size\" is out of range"},
      {R"({"layer_norm_eps": 1e300})", "\"layer_norm_eps\" is out of range for a float"},
      {R"({"hidden_dropout_prob": -1e100})", "\"hidden_dropout_prob\" is out of range for a float"},
  };
  for (const Case& c : cases) {
    const std::string m = bad_input_message([&] { parse(c.json); });
    EXPECT_NE(m.find("cfg.json"), std::string::npos) << m;
    EXPECT_NE(m.find(c.expect), std::string::npos) << m;
  }
  // The largest real configs stay within the limits.
  EXPECT_NO_THROW(parse(R"({"vocab_size": 250002, "hidden_size": 4096, "num_attention_heads": 32,
                            "intermediate_size": 16384, "num_hidden_layers": 48})"));
}

TEST(BertConfig, DeepOrHugeValuesAreQuotedShortAndDeepFilesRefused) {
  auto parse = [](const std::string& text) { bert_config_from_json(nlohmann::json::parse(text), "cfg.json"); };
  std::string wide = R"({"hidden_size": [)";
  for (int i = 0; i < 100000; ++i) wide += "1,";
  wide += "1]}";
  std::string m = bad_input_message([&] { parse(wide); });
  EXPECT_NE(m.find("\"hidden_size\" must be an integer, found [1,1,1"), std::string::npos) << m;
  EXPECT_LT(m.size(), 200u);
  m = bad_input_message([&] { parse(R"({"hidden_act": ")" + std::string(1 << 20, 'g') + R"("})"); });
  EXPECT_LT(m.size(), 300u);
  const std::string path = (std::filesystem::temp_directory_path() / "strata_deep_config_test.json").string();
  for (const char* field : {"hidden_size", "id2label", "unknown_field"}) {
    { std::ofstream(path) << "{\"" << field << "\": " << std::string(100000, '[') << std::string(100000, ']') << "}"; }
    m = bad_input_message([&] { load_bert_config(path); });
    EXPECT_NE(m.find(path + ": JSON nested deeper than the limit of 64 levels"), std::string::npos) << m;
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace strata::model
