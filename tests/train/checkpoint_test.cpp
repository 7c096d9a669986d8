// Checkpoint directories: exact round trip under Hugging Face names, atomic replacement, refusal to clobber a
// directory that is not a checkpoint, and clear errors for missing, misshapen or mistyped tensors.
#include "strata/train/checkpoint.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../common/error_matchers.h"
#include "../common/small_bert.h"
#include "../common/temp_dir.h"
#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/io/safetensors.h"

namespace strata::train {
namespace {

namespace fs = std::filesystem;

model::BertConfig cfg(int layers = 2, int hidden = 16) {
  model::BertConfig c = testing::small_bert(
      {.vocab = 30, .hidden = hidden, .layers = layers, .intermediate = 2 * hidden, .positions = 12});
  c.id2label = {"a", "b", "c"};
  return c;
}

class CheckpointTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    model_ = std::make_unique<model::Bert>(cfg());
    const std::size_t n = model_->total_floats();
    p_.resize(n);
    m_.resize(n);
    v_.resize(n);
    model_->init(p_.data(), 3);
    for (const model::TensorInfo& t : model_->tensors())  // the alignment gaps between slabs stay 0
      for (std::size_t i = t.offset; i < t.offset + t.numel; ++i) {
        m_[i] = 0.001f * static_cast<float>(i % 97);
        v_[i] = 0.0001f * static_cast<float>(i % 89);
      }
  }
  CheckpointContent content() {
    CheckpointContent c;
    c.model = model_.get();
    c.params = p_.data();
    c.m = m_.data();
    c.v = v_.data();
    c.state = {{"step", 12}, {"options", {{"seq-len", 10}}}};
    return c;
  }
  // Rewrites model.safetensors of a saved checkpoint with `edit` applied to the tensor list.
  template <typename Edit>
  void rewrite_model(const std::string& ck, Edit edit) {
    std::vector<io::TensorToWrite> t;
    std::vector<std::vector<float>> keep;
    for (const model::TensorInfo& info : model_->tensors())
      t.push_back({info.name, "F32", info.shape, p_.data() + info.offset, info.numel * sizeof(float)});
    edit(t, keep);
    io::write_safetensors(ck + "/model.safetensors", t);
  }

  std::unique_ptr<model::Bert> model_;
  std::vector<float> p_, m_, v_;
};

TEST_F(CheckpointTest, RoundTripsEveryTensorExactlyUnderHuggingFaceNames) {
  const std::string ck = (dir_ / "ck").string();
  const std::string tok = (dir_ / "tok.model").string();
  write_file_atomic(tok, std::string("not really a tokenizer"));
  CheckpointContent c = content();
  c.tokenizer_source = tok;
  save_checkpoint(ck, c);
  for (const char* f :
       {"config.json", "model.safetensors", "optimizer.safetensors", "tokenizer.model", "trainer_state.json"})
    EXPECT_TRUE(fs::exists(fs::path(ck) / f)) << f;
  const io::SafetensorsFile f = io::SafetensorsFile::open(ck + "/model.safetensors");
  EXPECT_TRUE(f.contains("bert.embeddings.word_embeddings.weight"));
  EXPECT_TRUE(f.contains("bert.encoder.layer.1.attention.self.query.weight"));
  EXPECT_TRUE(f.contains("classifier.weight"));
  EXPECT_EQ(f.get("classifier.weight").dtype, "F32");
  EXPECT_EQ(f.tensors().size(), model_->tensors().size());

  const Checkpoint back = load_checkpoint(ck, true);
  EXPECT_EQ(back.params, p_);
  EXPECT_EQ(back.m, m_);
  EXPECT_EQ(back.v, v_);
  EXPECT_EQ(back.config.num_labels, 3);
  EXPECT_EQ(back.config.label(2), "c");
  EXPECT_EQ(back.state["step"], 12);
  EXPECT_EQ(read_file(back.tokenizer_path), "not really a tokenizer");
  const Checkpoint no_opt = load_checkpoint(ck, false);
  EXPECT_TRUE(no_opt.m.empty());
}

TEST_F(CheckpointTest, CarriesAWordPieceVocabularyAndItsConfigAsHuggingFaceDoes) {
  const std::string ck = (dir_ / "ck").string();
  fs::create_directories(dir_ / "hf");
  const std::string vocab = (dir_ / "hf" / "vocab.txt").string();
  write_file_atomic(vocab, std::string("[PAD]\n[UNK]\n[CLS]\n[SEP]\n"));
  write_file_atomic((dir_ / "hf" / "tokenizer_config.json").string(), std::string(R"({"do_lower_case": false})"));
  CheckpointContent c = content();
  c.tokenizer_source = vocab;
  save_checkpoint(ck, c);
  EXPECT_FALSE(fs::exists(fs::path(ck) / "tokenizer.model"));
  EXPECT_EQ(read_file(ck + "/tokenizer_config.json"), R"({"do_lower_case": false})");
  const Checkpoint back = load_checkpoint(ck, false);
  EXPECT_EQ(back.tokenizer_path, ck + "/vocab.txt");
  EXPECT_EQ(read_file(back.tokenizer_path), "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
}

TEST_F(CheckpointTest, ReplacesAnOldCheckpointWholeAndLeavesNoTemporaries) {
  const std::string ck = (dir_ / "ck").string();
  save_checkpoint(ck, content());
  p_[0] = 42.0f;
  CheckpointContent c = content();
  c.m = c.v = nullptr;  // the new checkpoint has no optimizer state: the old file must not survive
  save_checkpoint(ck, c);
  const Checkpoint back = load_checkpoint(ck, false);
  EXPECT_EQ(back.params[0], 42.0f);
  EXPECT_FALSE(fs::exists(fs::path(ck) / "optimizer.safetensors"));
  for (const auto& e : fs::directory_iterator(dir_)) EXPECT_EQ(e.path().filename(), "ck") << e.path();
}

TEST_F(CheckpointTest, RefusesToReplaceADirectoryThatIsNotACheckpoint) {
  const fs::path mine = dir_ / "mine";
  fs::create_directories(mine);
  write_file_atomic((mine / "thesis.tex").string(), std::string("precious"));
  EXPECT_HAS(testing::bad_input_message([&] { save_checkpoint(mine.string(), content()); }), "refusing");
  EXPECT_HAS(testing::bad_input_message([&] { check_checkpoint_target(mine.string()); }), "refusing");
  EXPECT_EQ(read_file((mine / "thesis.tex").string()), "precious");
  write_file_atomic((dir_ / "file").string(), std::string("x"));
  EXPECT_HAS(testing::bad_input_message([&] { check_checkpoint_target((dir_ / "file").string()); }), "not a directory");
  EXPECT_HAS(testing::bad_input_message([&] { check_checkpoint_target((dir_ / "file" / "sub").string()); }), "cannot");
  check_checkpoint_target((dir_ / "new" / "deeper").string());  // creates the parent, leaves nothing else
  EXPECT_TRUE(fs::is_directory(dir_ / "new"));
  EXPECT_TRUE(fs::is_empty(dir_ / "new"));
}

TEST_F(CheckpointTest, AMissingMisshapenOrMistypedTensorIsNamed) {
  const std::string ck = (dir_ / "ck").string();
  save_checkpoint(ck, content());
  rewrite_model(ck, [](auto& t, auto&) { t.erase(t.begin() + 3); });
  const std::string missing = model_->tensors()[3].name;
  EXPECT_HAS(testing::bad_input_message([&] { load_checkpoint(ck, false); }), missing);

  rewrite_model(ck, [](auto& t, auto&) {
    for (auto& x : t)
      if (x.name == "classifier.weight") x.shape = {16, 3};
  });
  std::string msg = testing::bad_input_message([&] { load_checkpoint(ck, false); });
  EXPECT_HAS(msg, "classifier.weight");
  EXPECT_HAS(msg, "[3, 16]");

  rewrite_model(ck, [](auto& t, auto&) {
    for (auto& x : t)
      if (x.name == "classifier.bias") x.dtype = "I32";
  });
  msg = testing::bad_input_message([&] { load_checkpoint(ck, false); });
  EXPECT_HAS(msg, "classifier.bias");
  EXPECT_HAS(msg, "I32");

  // Truncated file: the safetensors reader refuses it, naming the file.
  save_checkpoint(ck, content());
  const std::string path = ck + "/model.safetensors";
  const std::string bytes = read_file(path);
  write_file_atomic(path, bytes.substr(0, bytes.size() / 2));
  EXPECT_HAS(testing::bad_input_message([&] { load_checkpoint(ck, false); }), "model.safetensors");
}

TEST_F(CheckpointTest, ResumingNeedsOptimizerStateAndChecksAnExpectedModel) {
  const std::string ck = (dir_ / "ck").string();
  CheckpointContent c = content();
  c.m = c.v = nullptr;
  save_checkpoint(ck, c);
  EXPECT_HAS(testing::bad_input_message([&] { load_checkpoint(ck, true); }), "optimizer.safetensors");
  save_checkpoint(ck, content());
  const model::BertConfig wider = cfg(2, 32);
  const std::string msg = testing::bad_input_message([&] { load_checkpoint(ck, true, &wider); });
  EXPECT_HAS(msg, "bert.embeddings.word_embeddings.weight");
  EXPECT_HAS(msg, "expected shape [30, 32]");
  const model::BertConfig deeper = cfg(3, 16);
  EXPECT_HAS(testing::bad_input_message([&] { load_checkpoint(ck, true, &deeper); }), "bert.encoder.layer.2.");
  EXPECT_HAS(testing::bad_input_message([&] { load_checkpoint((dir_ / "nope").string(), false); }), "nope");
}

}  // namespace
}  // namespace strata::train

namespace strata::train {
namespace {

// config.json claims a model far larger than model.safetensors holds: refused by the weights' shapes (exit 2,
// naming the file and tensor) before memory for the claimed model is asked for (which would be exit 3 or worse).
TEST_F(CheckpointTest, AConfigClaimingMoreThanTheWeightsIsRefusedBeforeAllocating) {
  const std::string ck = (dir_ / "ck").string();
  save_checkpoint(ck, content());
  struct Case {
    int vocab, hidden, heads, layers;
    const char* expect;
  } cases[] = {
      {1 << 24, 4096, 16, 2, "word_embeddings.weight': expected shape [16777216, 4096]"},  // 256 GiB of floats
      {30, 16, 2, 1000, "no tensor named 'bert.encoder.layer.2."},
      {30, 65536, 16, 2, "expected shape"},
  };
  for (const Case& c : cases) {
    model::BertConfig big = cfg();
    big.vocab_size = c.vocab;
    big.hidden_size = c.hidden;
    big.num_attention_heads = c.heads;
    big.num_hidden_layers = c.layers;
    model::save_bert_config(big, ck + "/config.json");
    const std::string m = testing::bad_input_message([&] { load_checkpoint(ck, true); });
    EXPECT_HAS(m, ck + "/model.safetensors");
    EXPECT_HAS(m, c.expect);
  }
}

TEST_F(CheckpointTest, ADeeplyNestedTrainerStateIsRefusedNamingTheFile) {
  const std::string ck = (dir_ / "ck").string();
  save_checkpoint(ck, content());
  write_file_atomic(ck + "/trainer_state.json",
                    "{\"step\": " + std::string(100000, '[') + std::string(100000, ']') + "}");
  EXPECT_HAS(testing::bad_input_message([&] { load_checkpoint(ck, false); }),
             ck + "/trainer_state.json: JSON nested deeper than the limit of 64 levels");
  write_file_atomic(ck + "/trainer_state.json", "[1]");
  EXPECT_HAS(testing::bad_input_message([&] { load_checkpoint(ck, false); }),
             ck + "/trainer_state.json: expected a JSON object, found array");
}

}  // namespace
}  // namespace strata::train
