// The whole BERT classifier against PyTorch: tools/make_reference.py mirrors Hugging Face's
// BertForSequenceClassification in plain torch (float64) and dumps weights, a padded batch, logits, loss, every
// parameter gradient and a 10-step AdamW loss trajectory; strata (float32) must reproduce them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "strata/backend/backend.h"
#include "strata/core/error.h"
#include "strata/io/safetensors.h"
#include "strata/model/bert.h"
#include "strata/train/executor.h"
#include "strata/train/optim.h"

namespace strata::model {
namespace {

// The fixture's tensors (F32, F64 and I32), everything converted to double.
struct Fixture {
  nlohmann::json metadata;
  std::map<std::string, std::vector<double>> tensors;
  std::map<std::string, std::vector<std::int64_t>> shapes;

  const std::vector<double>& at(const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error("fixture has no tensor " + name);
    return it->second;
  }
  template <typename T>
  std::vector<T> as(const std::string& name) const {
    const auto& v = at(name);
    return std::vector<T>(v.begin(), v.end());
  }
};

Fixture load_fixture() {
  const auto file = io::SafetensorsFile::open(std::string(STRATA_TEST_DATA) + "/reference/tiny_bert.safetensors");
  Fixture f;
  for (const auto& [k, v] : file.metadata()) f.metadata[k] = v;
  for (const io::SafeTensor& t : file.tensors()) {
    const std::uint8_t* data = file.data(t.name);
    std::vector<double> v;
    auto append = [&](auto sample) {
      using T = decltype(sample);
      for (std::size_t o = 0; o < t.end - t.begin; o += sizeof(T)) {
        T x;
        std::memcpy(&x, data + o, sizeof(T));
        v.push_back(static_cast<double>(x));
      }
    };
    if (t.dtype == "F32")
      append(float{});
    else if (t.dtype == "F64")
      append(double{});
    else if (t.dtype == "I32")
      append(std::int32_t{});
    else
      throw std::runtime_error("unexpected dtype " + t.dtype);
    f.tensors[t.name] = std::move(v);
    f.shapes[t.name] = t.shape;
  }
  return f;
}

// max |a - ref| / max |ref| over a tensor: the error relative to the tensor's scale (elementwise relative error is
// meaningless for entries that are zero up to rounding).
double rel_error(const float* a, const std::vector<double>& ref) {
  double diff = 0.0, scale = 0.0;
  for (std::size_t i = 0; i < ref.size(); ++i) {
    diff = std::max(diff, std::abs(double(a[i]) - ref[i]));
    scale = std::max(scale, std::abs(ref[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

class ReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fx_ = load_fixture();
    cfg_ = bert_config_from_json(nlohmann::json::parse(fx_.metadata["config"].get<std::string>()), "fixture");
    model_ = std::make_unique<Bert>(cfg_);
    be_ = backend::make_backend("cpu", backend::BackendOptions{2});
    params_.assign(model_->total_floats(), 0.0f);
    for (const TensorInfo& t : model_->tensors()) {
      const auto& w = fx_.at("param/" + t.name);
      ASSERT_EQ(w.size(), t.numel) << t.name;
      ASSERT_EQ(fx_.shapes.at("param/" + t.name), t.shape) << t.name;
      for (std::size_t i = 0; i < t.numel; ++i) params_[t.offset + i] = static_cast<float>(w[i]);
    }
    ids_ = fx_.as<std::int32_t>("input_ids");
    segs_ = fx_.as<std::int32_t>("token_type_ids");
    mask_ = fx_.as<float>("attention_mask");
    labels_ = fx_.as<std::int32_t>("labels");
    const auto& shape = fx_.shapes.at("input_ids");
    batch_ = Batch{static_cast<int>(shape[0]),
                   static_cast<int>(shape[1]),
                   ids_.data(),
                   segs_.data(),
                   mask_.data(),
                   labels_.data()};
    ctx_.be = be_.get();
    ctx_.seed = 5;
    ctx_.training = true;  // the config's dropout is 0: training mode must then match PyTorch exactly
  }

  Fixture fx_;
  BertConfig cfg_;
  std::unique_ptr<Bert> model_;
  std::unique_ptr<backend::Backend> be_;
  std::vector<float> params_;
  std::vector<std::int32_t> ids_, segs_, labels_;
  std::vector<float> mask_;
  Batch batch_;
  nn::Ctx ctx_;
};

TEST_F(ReferenceTest, EveryFixtureParameterMapsToAModelTensor) {
  std::size_t n = 0;
  for (const auto& [name, v] : fx_.tensors)
    if (name.rfind("param/", 0) == 0) {
      ++n;
      EXPECT_NE(model_->find(name.substr(6)), nullptr) << name;
    }
  EXPECT_EQ(n, model_->tensors().size());
  EXPECT_EQ(n, 5u + 16u * cfg_.num_hidden_layers + 4u);
}

TEST_F(ReferenceTest, LogitsLossAndEveryGradientMatchPyTorch) {
  FullModelRunner runner(*model_, *be_);
  std::vector<float> grads(model_->total_floats(), 0.0f);
  const double loss = runner.run(params_.data(), grads.data(), batch_, ctx_);
  const double ref_loss = fx_.at("loss")[0];
  EXPECT_LE(std::abs(loss - ref_loss) / ref_loss, 1e-5) << loss << " vs " << ref_loss;
  const double logit_err = rel_error(runner.logits().data(), fx_.at("logits"));
  EXPECT_LE(logit_err, 1e-4);
  double worst = 0.0;
  std::string worst_name;
  for (const TensorInfo& t : model_->tensors()) {
    if (t.name.ends_with("attention.self.key.bias")) {
      // Mathematically zero (softmax ignores a score shift shared by every key of a row): both sides hold rounding
      // noise, so bound it by the scale of the key weights' gradient instead.
      const auto& gw = fx_.at("grad/" + t.name.substr(0, t.name.size() - 4) + "weight");
      double scale = 0.0, noise = 0.0;
      for (double x : gw) scale = std::max(scale, std::abs(x));
      for (std::size_t i = 0; i < t.numel; ++i) noise = std::max(noise, double(std::abs(grads[t.offset + i])));
      EXPECT_LE(noise, 1e-5 * scale) << t.name;
      continue;
    }
    const double err = rel_error(grads.data() + t.offset, fx_.at("grad/" + t.name));
    EXPECT_LE(err, 1e-4) << t.name;
    if (err > worst) worst = err, worst_name = t.name;
  }
  // The padding token's word row gets no gradient (nn.Embedding padding_idx), though token 0 occurs in the batch.
  const TensorInfo* wte = model_->find("bert.embeddings.word_embeddings.weight");
  for (int c = 0; c < cfg_.hidden_size; ++c)
    EXPECT_EQ(grads[wte->offset + cfg_.pad_token_id * cfg_.hidden_size + c], 0.0f);
  std::printf("logits rel err %.2e, worst gradient rel err %.2e (%s)\n", logit_err, worst, worst_name.c_str());
}

TEST_F(ReferenceTest, MicroBatchesAccumulateTheSameGradient) {
  FullModelRunner runner(*model_, *be_);
  std::vector<float> g1(model_->total_floats(), 0.0f), g3(model_->total_floats(), 0.0f);
  const double l1 = runner.run(params_.data(), g1.data(), batch_, ctx_, 1);
  const double l3 = runner.run(params_.data(), g3.data(), batch_, ctx_, 3);
  EXPECT_NEAR(l1, l3, 1e-6);
  for (const TensorInfo& t : model_->tensors()) {
    if (t.name.ends_with("attention.self.key.bias")) continue;  // rounding noise around 0 (see above)
    std::vector<double> ref(g1.begin() + t.offset, g1.begin() + t.offset + t.numel);
    EXPECT_LE(rel_error(g3.data() + t.offset, ref), 1e-5) << t.name;
  }
}

TEST_F(ReferenceTest, TenAdamWStepsFollowPyTorchsLossTrajectory) {
  const nlohmann::json hp_json = nlohmann::json::parse(fx_.metadata["adamw"].get<std::string>());
  train::AdamWParams hp;
  hp.lr = hp_json["lr"];
  hp.weight_decay = hp_json["weight_decay"];
  const int steps = hp_json["steps"];
  const auto& ref = fx_.at("adamw_losses");
  ASSERT_EQ(ref.size(), static_cast<std::size_t>(steps) + 1);
  FullModelRunner runner(*model_, *be_);
  const std::size_t n = model_->total_floats();
  std::vector<float> grads(n), m(n, 0.0f), v(n, 0.0f);
  double worst = 0.0;
  for (int step = 1; step <= steps + 1; ++step) {
    std::fill(grads.begin(), grads.end(), 0.0f);
    ctx_.step = step;
    const bool last = step == steps + 1;
    const double loss = runner.run(params_.data(), last ? nullptr : grads.data(), batch_, ctx_);
    const double err = std::abs(loss - ref[step - 1]) / ref[step - 1];
    EXPECT_LE(err, 1e-5) << "loss after " << step - 1 << " steps: " << loss << " vs " << ref[step - 1];
    worst = std::max(worst, err);
    if (last) break;
    for (int l = 0; l < model_->num_layers(); ++l) {  // one slab at a time, as the EPS updates them
      const std::size_t o = model_->slab_offset(l);
      train::adamw_step(be_->pool(), params_.data() + o, grads.data() + o, m.data() + o, v.data() + o,
                        model_->slab_floats(l), hp, step);
    }
  }
  EXPECT_LT(ref.back(), ref.front());  // the trajectory actually trains
  std::printf("AdamW loss trajectory worst rel err %.2e over %d steps\n", worst, steps);
}

// The same trajectory through the baseline executor (batch copied to the device, fused AdamW per slab), with the
// 3-row batch split into 3 micro-batches of 1: gradient accumulation must not change the result.
TEST_F(ReferenceTest, BaselineExecutorWithMicroBatchesFollowsTheTrajectory) {
  const nlohmann::json hp_json = nlohmann::json::parse(fx_.metadata["adamw"].get<std::string>());
  const auto& ref = fx_.at("adamw_losses");
  train::ExecutorOptions o;
  o.micro_batch = 1;
  o.optim.weight_decay = hp_json["weight_decay"];
  o.optim.clip = 0.0;  // the fixture does not clip
  auto ex = train::make_executor("baseline", *model_, *be_, o);
  ex->write_state(params_.data(), nullptr, nullptr, 0, 0);
  const int steps = hp_json["steps"];
  for (int step = 0; step < steps; ++step) {
    const train::StepStats st = ex->step(batch_, hp_json["lr"].get<double>());
    EXPECT_LE(std::abs(st.loss - ref[step]) / ref[step], 1e-5) << "loss after " << step << " steps";
  }
  std::vector<float> logits(batch_.B * cfg_.num_labels);
  ex->infer(batch_, logits.data(), nullptr);
  EXPECT_EQ(ex->steps_done(), steps);
}

}  // namespace
}  // namespace strata::model
