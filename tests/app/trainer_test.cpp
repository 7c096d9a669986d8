// The training driver end to end in-process: loss falls and the report holds the promised fields, a stopped and
// resumed run reproduces the uninterrupted one bit for bit, text data trains through a SentencePiece tokenizer and
// a saved model evaluates to the reported accuracy, and bad options are bad input.
#include "strata/app/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "../common/error_matchers.h"
#include "../common/temp_dir.h"
#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/core/rng.h"
#include "strata/data/text.h"

namespace strata::app {

using namespace strata::train;
namespace {

namespace fs = std::filesystem;

class TrainerTest : public testing::TempDirTest {
 protected:
  static TrainOptions synthetic(int steps) {
    TrainOptions o;
    o.data = "synthetic:vocab=64,classes=4,n=200";
    o.model = "tiny";
    o.layers = 1;
    o.seq_len = 12;
    o.batch = 16;
    o.micro_batch = 8;
    o.steps = steps;
    o.lr = 3e-3;
    o.threads = 2;
    o.seed = 9;
    o.quiet = true;
    return o;
  }

  // A small text data set whose label is decided by which word list its words come from.
  std::string write_text_tsv(int rows) const {
    const std::vector<std::vector<std::string>> words = {{"cat", "dog", "horse", "sheep", "goat", "mouse"},
                                                         {"car", "truck", "train", "plane", "boat", "bike"},
                                                         {"red", "blue", "green", "yellow", "purple", "black"}};
    const char* names[] = {"animal", "vehicle", "colour"};
    std::string s = "text\tlabel\n";
    Rng rng(4);
    for (int i = 0; i < rows; ++i) {
      const int k = static_cast<int>(rng.below(3));
      const int len = 3 + static_cast<int>(rng.below(5));
      for (int w = 0; w < len; ++w) s += (w ? " " : "") + words[k][rng.below(6)];
      s += std::string("\t") + names[k] + "\n";
    }
    const std::string p = path("words.tsv");
    write_file_atomic(p, s);
    return p;
  }
};

TEST_F(TrainerTest, LossFallsAndTheReportHasEveryField) {
  TrainOptions o = synthetic(60);
  o.report = path("report.json");
  o.log = path("log.jsonl");
  const TrainResult r = train(o);
  ASSERT_EQ(r.losses.size(), 60u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += r.losses[i], last += r.losses[55 + i];
  EXPECT_LT(last, 0.8 * first);
  const nlohmann::json rep = nlohmann::json::parse(read_file(o.report));
  for (const char* k : {"step_ms_median", "tokens_per_s", "gflops", "device_peak_bytes", "host_peak_bytes",
                        "peak_rss_bytes", "tokens_per_step", "final_loss", "eval_accuracy", "majority_accuracy"})
    EXPECT_TRUE(rep.contains(k)) << k;
  EXPECT_EQ(rep["tokens_per_step"], 16 * 12);
  EXPECT_GT(rep["device_peak_bytes"].get<double>(), 0);
  EXPECT_GT(rep["gflops"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(rep["final_loss"].get<double>(), r.losses.back());
  EXPECT_EQ(rep["eval_examples"], 20);  // synthetic test split: n / 10 rows after the training rows
  EXPECT_GT(rep["eval_accuracy"].get<double>(), rep["majority_accuracy"].get<double>());
  int lines = 0;
  std::ifstream in(o.log);
  for (std::string l; std::getline(in, l);) {
    const nlohmann::json j = nlohmann::json::parse(l);
    EXPECT_EQ(j["step"], lines);
    ++lines;
  }
  EXPECT_EQ(lines, 60);
}

TEST_F(TrainerTest, AStoppedAndResumedRunReproducesTheUninterruptedOne) {
  TrainOptions full = synthetic(30);
  full.dropout = 0.1f;  // dropout keys depend on the step: resuming must continue the same stream
  const TrainResult a = train(full);

  TrainOptions part = full;
  part.stop_at = 13;
  part.save = path("ck");
  const TrainResult b1 = train(part);
  ASSERT_EQ(b1.losses.size(), 13u);
  TrainOptions resume;
  resume.resume = path("ck");
  resume.quiet = true;
  resume.report = path("resumed.json");
  const TrainResult b2 = train(resume, {"resume", "quiet", "report"});
  ASSERT_EQ(b2.losses.size(), 17u);
  for (int i = 0; i < 13; ++i) EXPECT_EQ(a.losses[i], b1.losses[i]) << i;
  for (int i = 0; i < 17; ++i) EXPECT_EQ(a.losses[13 + i], b2.losses[i]) << 13 + i;
  // The resumed run saved to its own directory by default; a saved model evaluates as the report says.
  const nlohmann::json rep = nlohmann::json::parse(read_file(path("resumed.json")));
  LoadedModel lm = load_model_dir(path("ck"), 2);
  const TokenData td = load_token_data(full.data, "test", lm.tokenizer_path, lm.seq_len, lm.seed);
  const EvalResult ev = evaluate(*lm.executor, td.tokens, labels_for_model(td.tokens, lm.config, td.source));
  EXPECT_DOUBLE_EQ(ev.accuracy, rep["eval_accuracy"].get<double>());
}

TEST_F(TrainerTest, ResumeKeepsTheTrajectoryOptionsAndNamesAMismatchingModel) {
  TrainOptions o = synthetic(4);
  o.save = path("ck");
  train(o);
  TrainOptions r;
  r.resume = path("ck");
  r.lr = 1.0;
  EXPECT_HAS(testing::bad_input_message([&] { train(r, {"resume", "lr"}); }), "--lr");
  r = TrainOptions{};
  r.resume = path("ck");
  r.model = "tiny";
  r.layers = 2;  // the checkpoint has 1 layer
  EXPECT_HAS(testing::bad_input_message([&] { train(r, {"resume", "model", "layers"}); }), "bert.encoder.layer.1.");
}

TEST_F(TrainerTest, TextDataTrainsThroughATokenizerAndTheSavedModelEvaluatesTheSame) {
  TrainOptions o = synthetic(40);
  o.data = write_text_tsv(400);
  o.vocab_size = 40;
  o.seq_len = 12;
  o.save = path("text-ck");
  o.report = path("r.json");
  train(o);
  const nlohmann::json rep = nlohmann::json::parse(read_file(o.report));
  EXPECT_GT(rep["eval_accuracy"].get<double>(), 0.9);  // the task is easy
  ASSERT_TRUE(fs::exists(path("text-ck/tokenizer.model")));
  LoadedModel lm = load_model_dir(path("text-ck"), 1);
  EXPECT_EQ(lm.seq_len, 12);
  const TokenData td = load_token_data(o.data, "test", lm.tokenizer_path, lm.seq_len, lm.seed);
  const EvalResult ev = evaluate(*lm.executor, td.tokens, labels_for_model(td.tokens, lm.config, td.source));
  EXPECT_DOUBLE_EQ(ev.accuracy, rep["eval_accuracy"].get<double>());
  EXPECT_EQ(ev.examples, rep["eval_examples"].get<std::size_t>());

  // No tokenizer: clear error. A label the model never saw: clear error naming it.
  EXPECT_HAS(testing::bad_input_message([&] { load_token_data(o.data, "test", "", 12, 0); }), "tokenizer");
  const std::string other = path("other.tsv");
  write_file_atomic(other, std::string("text\tlabel\ncat dog\tanimal\nred car\tmachine\n"));
  const TokenData od = load_token_data(other, "all", lm.tokenizer_path, 12, 0);
  EXPECT_HAS(testing::bad_input_message([&] { labels_for_model(od.tokens, lm.config, od.source); }), "'machine'");
}

TEST_F(TrainerTest, SyntheticTestRowsContinueTheGeneratorsStream) {
  const std::string spec = "synthetic:vocab=50,classes=5,n=40";
  const TokenData tr = load_token_data(spec, "train", "", 8, 3), te = load_token_data(spec, "test", "", 8, 3);
  const data::TokenDataset all = data::make_synthetic(50, 5, 44, 8, 3);
  ASSERT_EQ(tr.tokens.n, 40);
  ASSERT_EQ(te.tokens.n, 4);
  EXPECT_TRUE(std::equal(te.tokens.ids.begin(), te.tokens.ids.end(), all.ids.begin() + 40 * 8));
  EXPECT_TRUE(std::equal(tr.tokens.ids.begin(), tr.tokens.ids.end(), all.ids.begin()));
  EXPECT_EQ(te.tokens.classes.size(), 5u);
  EXPECT_EQ(te.tokens.classes[3], "3");
}

TEST_F(TrainerTest, BadOptionsAreBadInputBeforeTraining) {
  TrainOptions o = synthetic(5);
  o.micro_batch = 5;
  const std::string msg = testing::bad_input_message([&] { train(o); });
  EXPECT_HAS(msg, "does not divide --batch 16");
  EXPECT_HAS(msg, "1, 2, 4, 8, 16");
  o = synthetic(5);
  o.batch = 400;
  o.micro_batch = 8;
  EXPECT_HAS(testing::bad_input_message([&] { train(o); }), "fewer than --batch");
  o = synthetic(5);
  o.seq_len = 600;
  EXPECT_HAS(testing::bad_input_message([&] { train(o); }), "max_position_embeddings");
  o = synthetic(5);
  o.model = "gigantic";
  EXPECT_HAS(testing::bad_input_message([&] { train(o); }), "neither a preset");
  o = synthetic(5);
  write_file_atomic(path("blocker"), std::string("x"));
  o.save = path("blocker") + "/ck";
  EXPECT_HAS(testing::bad_input_message([&] { train(o); }), "blocker");
  o = synthetic(5);
  o.device_memory = 4096;
  try {
    train(o);
    FAIL() << "expected a resource error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kResource);
  }
}


// A loss that becomes non-finite stops the run with an error naming the step; the diverged state is not saved,
// so --save keeps the last good checkpoint, byte for byte.
TEST_F(TrainerTest, ADivergingRunStopsAndKeepsTheLastGoodCheckpoint) {
  TrainOptions o = synthetic(3);
  o.save = path("ck");
  o.log = path("log.jsonl");
  train(o);
  const std::string weights = read_file(path("ck/model.safetensors")), log = read_file(o.log);
  o.lr = 1e30;
  o.steps = 6;
  try {
    train(o);
    FAIL() << "a diverging run finished";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kInternal);
    EXPECT_HAS(std::string(e.what()), "diverged");
    EXPECT_HAS(std::string(e.what()), "at step");
    EXPECT_HAS(std::string(e.what()), "--lr");
  }
  EXPECT_EQ(read_file(path("ck/model.safetensors")), weights);
  EXPECT_EQ(read_file(o.log), log);
}

// The outputs are checked before the work and published together: a --report that cannot be written leaves the
// checkpoint and the log as they were.
TEST_F(TrainerTest, AnUnwritableReportLeavesTheEarlierCheckpoint) {
  TrainOptions o = synthetic(3);
  o.save = path("ck");
  o.log = path("log.jsonl");
  train(o);
  const std::string state = read_file(path("ck/trainer_state.json")), log = read_file(o.log);
  o.seed = 10;
  o.report = path("missing/report.json");
  const std::string msg = testing::bad_input_message([&] { train(o); });
  EXPECT_HAS(msg, "--report");
  EXPECT_HAS(msg, "does not exist");
  EXPECT_EQ(read_file(path("ck/trainer_state.json")), state);
  EXPECT_EQ(read_file(o.log), log);
}

TEST_F(TrainerTest, OneClassAndOutOfRangeOptionsAreBadInput) {
  TrainOptions o = synthetic(2);
  o.data = "synthetic:vocab=64,classes=1,n=200";
  EXPECT_HAS(testing::bad_input_message([&] { train(o); }), "at least 2 classes");
  const auto refused = [&](auto set, const char* flag) {
    TrainOptions b = synthetic(2);
    set(b);
    EXPECT_HAS(testing::bad_input_message([&] { train(b); }), flag);
  };
  refused([](TrainOptions& b) { b.dropout = std::nanf(""); }, "--dropout");
  refused([](TrainOptions& b) { b.clip = -1; }, "--clip");
  refused([](TrainOptions& b) { b.stop_at = -1; }, "--stop-at");
  refused([](TrainOptions& b) { b.save_every = -1; }, "--save-every");
  refused([](TrainOptions& b) { b.save_every = 2; }, "needs --save");
  refused([](TrainOptions& b) { b.epochs = 1e30; b.steps = 0; }, "--epochs");
  refused([](TrainOptions& b) { b.threads = 100000; }, "--threads");
  refused([](TrainOptions& b) { b.eps_threads = 5000; }, "--eps-threads");
}

}  // namespace
}  // namespace strata::app
