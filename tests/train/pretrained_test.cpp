// train --init's loader: Hugging Face files with and without the "bert." prefix (and legacy LayerNorm gamma/beta)
// give the same encoder; the classifier is new (HF's init from the seed), a saved pooler is kept, pre-training
// heads are listed as unused; missing and misshapen tensors are all named.
#include "strata/train/pretrained.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "../common/error_matchers.h"
#include "../common/small_bert.h"
#include "../common/temp_dir.h"
#include "strata/io/safetensors.h"

namespace strata::train {
namespace {

namespace fs = std::filesystem;

class PretrainedTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    cfg_ = testing::small_bert({.vocab = 30, .hidden = 16, .layers = 2, .intermediate = 32, .positions = 12});
    model_ = std::make_unique<model::Bert>(cfg_);
    src_.resize(model_->total_floats());
    model_->init(src_.data(), 11);  // the "pre-trained" weights: another seed than the run's
  }
  // Writes DIR/config.json and DIR/model.safetensors of src_ under names rename(name) ("" drops the tensor), plus
  // an MLM head's bias.
  template <typename Rename>
  std::string write_dir(const std::string& name, Rename rename, bool with_pooler = true) {
    const std::string dir = (dir_ / name).string();
    fs::create_directories(dir);
    model::save_bert_config(cfg_, dir + "/config.json");
    std::vector<io::TensorToWrite> t;
    for (const model::TensorInfo& info : model_->tensors()) {
      if (info.name.rfind("classifier.", 0) == 0) continue;  // as BertModel / BertForMaskedLM write it
      if (!with_pooler && info.name.rfind("bert.pooler.", 0) == 0) continue;
      const std::string n = rename(info.name);
      if (!n.empty()) t.push_back({n, "F32", info.shape, src_.data() + info.offset, info.numel * sizeof(float)});
    }
    t.push_back({"cls.predictions.bias", "F32", {cfg_.vocab_size}, mlm_bias_.data(), mlm_bias_.size() * 4});
    io::write_safetensors(dir + "/model.safetensors", t);
    return dir;
  }
  std::vector<float> load(const std::string& dir, PretrainedReport* r = nullptr) {
    std::vector<float> p(model_->total_floats());
    PretrainedReport rep = load_pretrained(dir, *model_, p.data(), 5);
    if (r) *r = rep;
    return p;
  }
  const float* tensor(const std::vector<float>& p, const std::string& name) { return p.data() + model_->find(name)->offset; }

  model::BertConfig cfg_;
  std::unique_ptr<model::Bert> model_;
  std::vector<float> src_, mlm_bias_ = std::vector<float>(30, 0.5f);
};

TEST_F(PretrainedTest, BothPrefixStylesAndLegacyLayerNormNamesLoadTheSameEncoder) {
  PretrainedReport with, without;
  const auto a = load(write_dir("with", [](const std::string& n) { return n; }), &with);
  const auto b = load(write_dir("without", [](const std::string& n) {
                        std::string s = n.substr(5);  // BertModel: no "bert."
                        if (s.size() > 16 && s.substr(s.size() - 16) == "LayerNorm.weight") s.replace(s.size() - 6, 6, "gamma");
                        return s;
                      }),
                      &without);
  EXPECT_EQ(with.prefix, "bert.");
  EXPECT_EQ(without.prefix, "");
  EXPECT_EQ(a, b);
  std::vector<float> fresh(model_->total_floats());
  model_->init(fresh.data(), 5);
  for (const model::TensorInfo& t : model_->tensors()) {
    const bool head = t.name.rfind("classifier.", 0) == 0;
    const std::vector<float>& want = head ? fresh : src_;
    EXPECT_TRUE(std::equal(a.data() + t.offset, a.data() + t.offset + t.numel, want.data() + t.offset)) << t.name;
  }
  EXPECT_EQ(with.initialised, (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
  EXPECT_EQ(with.unused, (std::vector<std::string>{"cls.predictions.bias"}));
  EXPECT_EQ(with.loaded.size() + 2, model_->tensors().size());
}

TEST_F(PretrainedTest, APoolerTheFileLacksIsInitialisedNotMissing) {
  PretrainedReport r;
  const auto p = load(write_dir("mlm", [](const std::string& n) { return n; }, false), &r);
  EXPECT_EQ(r.initialised.size(), 4u);
  std::vector<float> fresh(model_->total_floats());
  model_->init(fresh.data(), 5);
  const model::TensorInfo* pool = model_->find("bert.pooler.dense.weight");
  EXPECT_TRUE(std::equal(p.data() + pool->offset, p.data() + pool->offset + pool->numel, fresh.data() + pool->offset));
}

TEST_F(PretrainedTest, NamesEveryMissingAndMisshapenTensor) {
  const std::string dir = write_dir("broken", [](const std::string& n) {
    return n.find("layer.1.output.dense.bias") != std::string::npos || n.find("position_embeddings") != std::string::npos
               ? std::string()
               : n;
  });
  std::string msg = testing::bad_input_message([&] { load(dir); });
  EXPECT_NE(msg.find(dir + "/model.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing tensors: bert.embeddings.position_embeddings.weight, "
                     "bert.encoder.layer.1.output.dense.bias"),
            std::string::npos)
      << msg;

  model::BertConfig wide = cfg_;  // a file whose FFN is 48 wide, loaded into a model 32 wide
  wide.intermediate_size = 48;
  const model::Bert other(wide);
  std::vector<float> w(other.total_floats(), 0.25f);
  const std::string dir2 = (dir_ / "shape").string();
  fs::create_directories(dir2);
  std::vector<io::TensorToWrite> t;
  for (const model::TensorInfo& info : other.tensors())
    t.push_back({info.name.substr(info.name.rfind("bert.", 0) == 0 ? 5 : 0), "F32", info.shape,
                 w.data() + info.offset, info.numel * sizeof(float)});
  io::write_safetensors(dir2 + "/model.safetensors", t);
  msg = testing::bad_input_message([&] { load(dir2); });
  EXPECT_NE(msg.find("tensors of another shape: encoder.layer.0.intermediate.dense.weight expected [32, 16], found "
                     "[48, 16]; encoder.layer.0.intermediate.dense.bias expected [32], found [48]; "
                     "encoder.layer.0.output.dense.weight expected [16, 32], found [16, 48]"),
            std::string::npos)
      << msg;
  EXPECT_EQ(msg.find("missing"), std::string::npos) << msg;
  msg = testing::bad_input_message([&] { load((dir_ / "nowhere").string()); });
  EXPECT_NE(msg.find("no model.safetensors"), std::string::npos) << msg;
}

}  // namespace
}  // namespace strata::train
