// MLM pre-training against PyTorch: tools/make_mlm_reference.py runs the mirror's BertForMaskedLM (HF names, decoder
// tied to the word embeddings) in float64 on a padded batch with some positions masked; strata (float32) must
// reproduce the logits of the predicted positions, the loss and every gradient, the tied table's included, and a
// 10-step AdamW loss trajectory (the tied table updated once from both of its gradients).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include <nlohmann/json.hpp>

#include "strata/backend/backend.h"
#include "strata/io/safetensors.h"
#include "strata/model/bert_mlm.h"
#include "strata/train/optim.h"

namespace strata::model {
namespace {

std::vector<double> read_f64(const io::SafetensorsFile& f, const std::string& name) {
  const io::SafeTensor& t = f.get(name);
  const std::uint8_t* p = f.data(name);
  std::vector<double> out;
  for (std::size_t o = 0; o < t.end - t.begin;) {
    if (t.dtype == "F64") {
      double x;
      std::memcpy(&x, p + o, 8);
      out.push_back(x), o += 8;
    } else if (t.dtype == "F32") {
      float x;
      std::memcpy(&x, p + o, 4);
      out.push_back(x), o += 4;
    } else {
      std::int32_t x;
      std::memcpy(&x, p + o, 4);
      out.push_back(x), o += 4;
    }
  }
  return out;
}

double rel_error(const float* a, const std::vector<double>& ref) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

class MlmReference : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = bert_config_from_json(nlohmann::json::parse(fx_.metadata().at("config")), "fixture");
    model_ = std::make_unique<BertMlm>(cfg_);
    be_ = backend::make_backend("cpu", backend::BackendOptions{2});
    params_.assign(model_->total_floats(), 0.0f);
    for (const TensorInfo& t : model_->tensors()) {
      const std::vector<double> w = read_f64(fx_, "param/" + t.name);
      ASSERT_EQ(w.size(), t.numel) << t.name;
      ASSERT_EQ(fx_.get("param/" + t.name).shape, t.shape) << t.name;
      for (std::size_t i = 0; i < t.numel; ++i) params_[t.offset + i] = static_cast<float>(w[i]);
    }
    auto ints = [&](const char* n) {
      const auto v = read_f64(fx_, n);
      return std::vector<std::int32_t>(v.begin(), v.end());
    };
    ids_ = ints("input_ids"), segs_ = ints("token_type_ids"), labels_ = ints("labels");
    const auto m = read_f64(fx_, "attention_mask");
    mask_.assign(m.begin(), m.end());
    const auto& shape = fx_.get("input_ids").shape;
    batch_ = MlmBatch{static_cast<int>(shape[0]), static_cast<int>(shape[1]), ids_.data(), mask_.data(),
                      segs_.data(), labels_.data()};
    ctx_.be = be_.get();
    ctx_.training = true;  // dropout 0 in the config: training mode must match PyTorch exactly
  }

  io::SafetensorsFile fx_ =
      io::SafetensorsFile::open(std::string(STRATA_TEST_DATA) + "/reference/tiny_mlm.safetensors");
  BertConfig cfg_;
  std::unique_ptr<BertMlm> model_;
  std::unique_ptr<backend::Backend> be_;
  std::vector<float> params_, mask_;
  std::vector<std::int32_t> ids_, segs_, labels_;
  MlmBatch batch_;
  nn::Ctx ctx_;
};

TEST_F(MlmReference, TensorsAreBertForMaskedLMs) {
  std::size_t n = 0;
  for (const io::SafeTensor& t : fx_.tensors()) n += t.name.rfind("param/", 0) == 0;
  EXPECT_EQ(n, model_->tensors().size());  // no pooler, no classifier, no separate decoder weight (tied)
}

TEST_F(MlmReference, LogitsLossAndEveryGradientMatchPyTorch) {
  MlmRunner runner(*model_, *be_);
  std::vector<float> grads(model_->total_floats(), 0.0f);
  const MlmResult r = runner.run(params_.data(), grads.data(), batch_, ctx_, true);
  const double ref_loss = read_f64(fx_, "loss")[0];
  EXPECT_EQ(r.predicted, 6);
  EXPECT_LE(std::abs(r.loss - ref_loss) / ref_loss, 1e-5) << r.loss << " vs " << ref_loss;
  // The fixture's logits are (B, T, V) at every position; strata's are those of the predicted positions in order.
  const std::vector<double> all = read_f64(fx_, "logits");
  const std::size_t V = cfg_.vocab_size;
  std::vector<double> ref;
  for (std::size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] != kIgnore) ref.insert(ref.end(), all.begin() + i * V, all.begin() + (i + 1) * V);
  ASSERT_EQ(runner.logits().size(), ref.size());
  const double logit_err = rel_error(runner.logits().data(), ref);
  EXPECT_LE(logit_err, 1e-4);
  double worst = 0.0;
  for (const TensorInfo& t : model_->tensors()) {
    const std::vector<double> g = read_f64(fx_, "grad/" + t.name);
    if (t.name.ends_with("attention.self.key.bias")) {  // mathematically zero: rounding noise on both sides
      const std::vector<double> gw = read_f64(fx_, "grad/" + t.name.substr(0, t.name.size() - 4) + "weight");
      double scale = 0.0;
      for (double x : gw) scale = std::max(scale, std::abs(x));
      for (std::size_t i = 0; i < t.numel; ++i) EXPECT_LE(std::abs(grads[t.offset + i]), 1e-5 * scale) << t.name;
      continue;
    }
    const double err = rel_error(grads.data() + t.offset, g);
    EXPECT_LE(err, 1e-4) << t.name;
    worst = std::max(worst, err);
  }
  std::printf("MLM logits rel err %.2e, worst gradient rel err %.2e\n", logit_err, worst);
  // The pooler and classifier slab carried by the layout is never touched.
  const TensorInfo* cls = model_->bert().find("classifier.weight");
  for (std::size_t i = 0; i < cls->numel; ++i) EXPECT_EQ(grads[cls->offset + i], 0.0f);
}

TEST_F(MlmReference, TenAdamWStepsFollowPyTorchsLossTrajectory) {
  const nlohmann::json hp_json = nlohmann::json::parse(fx_.metadata().at("adamw"));
  train::AdamWParams hp;
  hp.lr = hp_json["lr"];
  hp.weight_decay = hp_json["weight_decay"];
  const std::vector<double> ref = read_f64(fx_, "adamw_losses");
  ASSERT_EQ(ref.size(), hp_json["steps"].get<std::size_t>());
  MlmRunner runner(*model_, *be_);
  const std::size_t n = model_->total_floats();
  std::vector<float> grads(n), m(n, 0.0f), v(n, 0.0f);
  double worst = 0.0;
  for (std::size_t step = 0; step < ref.size(); ++step) {
    std::fill(grads.begin(), grads.end(), 0.0f);
    const MlmResult r = runner.run(params_.data(), grads.data(), batch_, ctx_);
    const double err = std::abs(r.loss - ref[step]) / ref[step];
    EXPECT_LE(err, 1e-5) << "loss before step " << step + 1 << ": " << r.loss << " vs " << ref[step];
    worst = std::max(worst, err);
    train::adamw_step(be_->pool(), params_.data(), grads.data(), m.data(), v.data(), n, hp,
                      static_cast<std::int64_t>(step) + 1);
  }
  EXPECT_LT(ref.back(), ref.front());
  std::printf("MLM AdamW loss trajectory worst rel err %.2e over %zu steps\n", worst, ref.size());
}

TEST_F(MlmReference, ForwardOnlyCountsCorrectPredictions) {
  MlmRunner runner(*model_, *be_);
  const MlmResult r = runner.run(params_.data(), nullptr, batch_, ctx_);
  const std::vector<double> all = read_f64(fx_, "logits");
  const std::size_t V = cfg_.vocab_size;
  int correct = 0;
  for (std::size_t i = 0; i < labels_.size(); ++i)
    if (labels_[i] != kIgnore)
      correct += std::max_element(all.begin() + i * V, all.begin() + (i + 1) * V) - (all.begin() + i * V) == labels_[i];
  EXPECT_EQ(r.correct, correct);
}

}  // namespace
}  // namespace strata::model
