// train --init against PyTorch: tools/make_init_reference.py writes a tiny pre-trained BERT the way Hugging Face
// lays it out (BertForPreTraining with "bert." names and pre-training heads; BertModel without the prefix) and the
// mirror's 10 AdamW fine-tuning losses from it. Loading either directory and fine-tuning through the baseline
// executor must follow that trajectory (the new classifier head set to the mirror's, which strata cannot draw).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "strata/backend/backend.h"
#include "strata/io/safetensors.h"
#include "strata/model/bert.h"
#include "strata/train/executor.h"
#include "strata/train/pretrained.h"

namespace strata::train {
namespace {

const std::string kRef = std::string(STRATA_TEST_DATA) + "/reference";

template <typename T>
std::vector<T> read_as(const io::SafetensorsFile& f, const std::string& name) {
  const io::SafeTensor& t = f.get(name);
  const std::uint8_t* p = f.data(name);
  std::vector<T> out;
  auto append = [&](auto sample) {
    using S = decltype(sample);
    for (std::size_t o = 0; o < t.end - t.begin; o += sizeof(S)) {
      S x;
      std::memcpy(&x, p + o, sizeof(S));
      out.push_back(static_cast<T>(x));
    }
  };
  if (t.dtype == "F32") append(float{});
  else if (t.dtype == "F64") append(double{});
  else append(std::int32_t{});
  return out;
}

class InitReference : public ::testing::TestWithParam<const char*> {};

TEST_P(InitReference, FineTuningFromTheHuggingFaceDirectoryFollowsTheMirror) {
  const std::string dir = kRef + "/" + GetParam();
  const io::SafetensorsFile fx = io::SafetensorsFile::open(kRef + "/init_finetune.safetensors");
  model::BertConfig cfg = pretrained_config(dir);
  cfg.num_labels = std::stoi(fx.metadata().at("num_labels"));
  const model::Bert model(cfg);
  std::vector<float> params(model.total_floats());
  const PretrainedReport rep = load_pretrained(dir, model, params.data(), 7);
  const bool prefixed = std::string(GetParam()) == "hf_pretraining";
  EXPECT_EQ(rep.prefix, prefixed ? "bert." : "");
  EXPECT_EQ(rep.initialised, (std::vector<std::string>{"classifier.weight", "classifier.bias"}));
  EXPECT_EQ(rep.unused.size(), prefixed ? 7u : 0u);  // cls.predictions.* (5) and cls.seq_relationship.* (2)
  for (const char* head : {"classifier.weight", "classifier.bias"}) {
    const std::vector<float> w = read_as<float>(fx, head);
    const model::TensorInfo* t = model.find(head);
    ASSERT_EQ(w.size(), t->numel);
    std::copy(w.begin(), w.end(), params.begin() + static_cast<std::ptrdiff_t>(t->offset));
  }
  std::vector<std::int32_t> ids = read_as<std::int32_t>(fx, "input_ids"), segs = read_as<std::int32_t>(fx, "token_type_ids"),
                            labels = read_as<std::int32_t>(fx, "labels");
  std::vector<float> mask = read_as<float>(fx, "attention_mask");
  const auto& shape = fx.get("input_ids").shape;
  const model::Batch batch{static_cast<int>(shape[0]), static_cast<int>(shape[1]), ids.data(), segs.data(),
                           mask.data(), labels.data()};
  const nlohmann::json hp = nlohmann::json::parse(fx.metadata().at("adamw"));
  const std::vector<double> ref = read_as<double>(fx, "adamw_losses");
  auto be = backend::make_backend("cpu", backend::BackendOptions{2});
  ExecutorOptions o;
  o.micro_batch = 2;
  o.optim.weight_decay = hp["weight_decay"];
  o.optim.clip = 0.0;  // the mirror does not clip
  auto ex = make_executor("baseline", model, *be, o);
  ex->write_state(params.data(), nullptr, nullptr, 0, 0);
  double worst = 0.0;
  for (std::size_t step = 0; step < ref.size(); ++step) {
    const StepStats st = ex->step(batch, hp["lr"].get<double>());
    const double err = std::abs(st.loss - ref[step]) / ref[step];
    EXPECT_LE(err, 1e-5) << "loss before step " << step + 1 << ": " << st.loss << " vs " << ref[step];
    worst = std::max(worst, err);
  }
  EXPECT_LT(ref.back(), ref.front());  // the trajectory actually trains
  std::printf("%s: fine-tuning loss worst rel err %.2e over %zu steps\n", GetParam(), worst, ref.size());
}

INSTANTIATE_TEST_SUITE_P(BothPrefixStyles, InitReference, ::testing::Values("hf_pretraining", "hf_bertmodel"));

}  // namespace
}  // namespace strata::train
