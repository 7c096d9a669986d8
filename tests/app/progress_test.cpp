// Progress as data: the text sink prints the CLI's lines, the JSON-lines sink one parseable object per event, and
// the trainer reports its steps through a sink and stops cleanly when the sink is cancelled (checkpoint saved,
// resumable to the same losses as an uninterrupted run).
#include "strata/app/progress.h"

#include <gtest/gtest.h>

#include <sstream>

#include "../common/temp_dir.h"
#include "strata/app/trainer.h"

namespace strata::app {
namespace {

TEST(TextProgress, PrintsTheCliLines) {
  std::ostringstream out;
  TextProgress p(out);
  p.message("hello");
  p.step({3, 10, 1.23456, 5e-4, 1234.4, 75});
  p.result({"compare", 1, 2, "seed 1", {{"flat", 0.5}}, "seed 1/2: flat 0.5000"});
  p.wrote("/tmp/x", "report");
  EXPECT_EQ(out.str(),
            "strata: hello\n"
            "strata: step 3/10  loss 1.2346  lr 5.00e-04  1234 tok/s  ETA 1m15s\n"
            "strata: seed 1/2: flat 0.5000\n"
            "strata: wrote report /tmp/x\n");
}

TEST(JsonLinesProgress, OneObjectPerEvent) {
  std::ostringstream out;
  JsonLinesProgress p(out);
  p.message("hi");
  p.step({1, 2, 0.5, 1e-3, 100, 3});
  p.result({"simulate", 2, 4, "setting", {{"ari", 0.25}, {"le", std::nan("")}}, "line"});
  p.wrote("f.csv", "csv");
  std::istringstream in(out.str());
  std::vector<nlohmann::json> events;
  for (std::string l; std::getline(in, l);) events.push_back(nlohmann::json::parse(l));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0]["event"], "message");
  EXPECT_EQ(events[0]["text"], "hi");
  EXPECT_EQ(events[1]["event"], "step");
  EXPECT_EQ(events[1]["loss"], 0.5);
  EXPECT_EQ(events[1]["total"], 2);
  EXPECT_EQ(events[2]["values"]["ari"], 0.25);
  EXPECT_TRUE(events[2]["values"]["le"].is_null());  // NaN is not JSON
  EXPECT_EQ(events[2]["index"], 2);
  EXPECT_EQ(events[3]["path"], "f.csv");
}

TEST(FormatDuration, HoursMinutesSeconds) {
  EXPECT_EQ(format_duration(5.4), "5s");
  EXPECT_EQ(format_duration(125), "2m5s");
  EXPECT_EQ(format_duration(3 * 3600 + 120), "3h2m");
  EXPECT_EQ(format_duration(-1), "?");
}

// Records the trainer's events; optionally requests cancellation at the n-th step event.
class Recorder : public ProgressSink {
 public:
  void message(const std::string& text) override { messages.push_back(text); }
  void step(const StepProgress& p) override {
    steps.push_back(p);
    if (static_cast<int>(steps.size()) == cancel_at) request_cancel();
  }
  void wrote(const std::string& path, const std::string& what) override { wrote_.push_back(what + " " + path); }
  std::vector<std::string> messages, wrote_;
  std::vector<StepProgress> steps;
  int cancel_at = -1;
};

class TrainerProgressTest : public testing::TempDirTest {
 protected:
  TrainOptions options(int steps) const {
    TrainOptions o;
    o.data = "synthetic:vocab=64,classes=4,n=200";
    o.model = "tiny";
    o.layers = 1;
    o.seq_len = 12;
    o.batch = 16;
    o.micro_batch = 8;
    o.steps = steps;
    o.threads = 2;
    o.seed = 5;
    return o;
  }
};

TEST_F(TrainerProgressTest, StepsArriveThroughTheSinkWithTheLosses) {
  Recorder rec;
  TrainOptions o = options(40);
  o.report = path("r.json");
  const TrainResult r = train(o, {}, rec);
  // The first step, then every 5 % (every second step): steps 1, 2, 4, ..., 40.
  ASSERT_EQ(rec.steps.size(), 21u);
  EXPECT_EQ(rec.steps.front().step, 1);
  EXPECT_EQ(rec.steps.back().step, 40);
  for (const StepProgress& p : rec.steps) {
    EXPECT_EQ(p.total, 40);
    EXPECT_EQ(p.loss, r.losses[p.step - 1]);
    EXPECT_GT(p.tokens_per_s, 0);
  }
  EXPECT_EQ(rec.steps.back().eta_seconds, 0.0);
  EXPECT_FALSE(rec.messages.empty());
  ASSERT_EQ(rec.wrote_.size(), 1u);
  EXPECT_EQ(rec.wrote_[0], "report " + o.report);
  // --quiet: no events at all.
  Recorder silent;
  o.quiet = true;
  train(o, {}, silent);
  EXPECT_TRUE(silent.steps.empty());
  EXPECT_TRUE(silent.messages.empty());
}

TEST_F(TrainerProgressTest, ACancelledRunSavesAtAStepBoundaryAndResumesToTheSameLosses) {
  const TrainResult full = train(options(30));
  Recorder rec;
  rec.cancel_at = 3;  // 30 steps: an event after every step, so the cancel lands after step 3
  TrainOptions o = options(30);
  o.save = path("ck");
  o.quiet = false;
  try {
    train(o, {}, rec);
    FAIL() << "expected Cancelled";
  } catch (const Cancelled& e) {
    EXPECT_EQ(e.code(), ExitCode::kCancelled);
  }
  TrainOptions resume;
  resume.resume = path("ck");
  const TrainResult rest = train(resume, {"resume"});
  ASSERT_EQ(rest.losses.size(), 27u);  // steps 3 done, cancelled before the fourth
  for (int i = 0; i < 27; ++i) EXPECT_EQ(rest.losses[i], full.losses[3 + i]) << i;
}

}  // namespace
}  // namespace strata::app
