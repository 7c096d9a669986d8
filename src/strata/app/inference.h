// A trained model used for inference: accuracy and loss over a token data set, pooled [CLS] vectors, and opening a
// saved model directory (evaluate, embed). Dropout is off throughout.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/data/text.h"
#include "strata/model/bert.h"
#include "strata/model/config.h"
#include "strata/train/executor.h"

namespace strata::app {

struct EvalResult {
  std::size_t examples = 0;
  double accuracy = 0.0;
  double loss = 0.0;           // mean cross-entropy
  std::vector<int> predicted;  // per row, model class ids
};
// Forward over every row (dropout off); labels must already be model class ids.
EvalResult evaluate(train::Executor& ex, const data::TokenDataset& ds, const std::vector<std::int32_t>& labels);

// The pooled [CLS] vector (tanh, before dropout) of every row, (n, hidden) row-major; dropout off.
std::vector<float> pooled_vectors(train::Executor& ex, const data::TokenDataset& ds);

// The data set's labels as ids of the model's classes (config id2label), matched by name (data::labels_for_model).
std::vector<std::int32_t> labels_for_model(const data::TokenDataset& ds, const model::BertConfig& cfg,
                                           const std::string& source);

// A trained model directory opened for inference (evaluate, embed).
struct LoadedModel {
  model::BertConfig config;
  std::unique_ptr<model::Bert> model;
  std::unique_ptr<backend::Backend> backend;
  std::unique_ptr<train::Executor> executor;
  std::string tokenizer_path;
  int seq_len = 0;         // from trainer_state.json (or 128)
  std::uint64_t seed = 0;  // ditto (synthetic data)
};
LoadedModel load_model_dir(const std::string& dir, int threads, int micro_batch = 32,
                           const std::string& backend_name = "cpu");

}  // namespace strata::app
