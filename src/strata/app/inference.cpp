// Inference over token data sets with any executor, and saved model directories opened for it.
#include "strata/app/inference.h"

#include <algorithm>
#include <cmath>

#include "strata/app/token_data.h"
#include "strata/app/train_options.h"
#include "strata/core/error.h"
#include "strata/data/labels.h"
#include "strata/data/tokenizer.h"
#include "strata/train/checkpoint.h"

namespace strata::app {

namespace {
constexpr int kChunk = 512;  // rows per inference call

// Calls fn(r0, batch) for consecutive chunks of ds's rows.
template <typename Fn>
void for_each_chunk(const data::TokenDataset& ds, Fn&& fn) {
  std::vector<std::size_t> rows(kChunk);
  HostBatch hb;
  for (int r0 = 0; r0 < ds.n; r0 += kChunk) {
    const int b = std::min(kChunk, ds.n - r0);
    for (int i = 0; i < b; ++i) rows[i] = static_cast<std::size_t>(r0 + i);
    fn(r0, hb.fill(ds, nullptr, rows.data(), b));
  }
}
}  // namespace

EvalResult evaluate(train::Executor& ex, const data::TokenDataset& ds, const std::vector<std::int32_t>& labels) {
  EvalResult r;
  r.examples = static_cast<std::size_t>(ds.n);
  r.predicted.resize(r.examples);
  if (ds.n == 0) return r;
  const int K = ex.model().config().num_labels;
  std::vector<float> logits(static_cast<std::size_t>(kChunk) * K);  // (chunk, K)
  double loss = 0.0;
  std::size_t correct = 0;
  for_each_chunk(ds, [&](int r0, const model::Batch& batch) {
    ex.infer(batch, logits.data(), nullptr);
    for (int i = 0; i < batch.B; ++i) {
      const float* l = logits.data() + static_cast<std::size_t>(i) * K;
      const int arg = static_cast<int>(std::max_element(l, l + K) - l);
      double mx = l[arg], z = 0.0;
      for (int k = 0; k < K; ++k) z += std::exp(static_cast<double>(l[k]) - mx);
      const int y = labels[r0 + i];
      loss += std::log(z) + mx - l[y];
      correct += arg == y;
      r.predicted[r0 + i] = arg;
    }
  });
  r.accuracy = static_cast<double>(correct) / ds.n;
  r.loss = loss / ds.n;
  return r;
}

std::vector<float> pooled_vectors(train::Executor& ex, const data::TokenDataset& ds) {
  const std::size_t C = ex.model().config().hidden_size;
  std::vector<float> out(static_cast<std::size_t>(ds.n) * C);  // (n, C)
  for_each_chunk(ds, [&](int r0, const model::Batch& batch) {
    ex.infer(batch, nullptr, out.data() + static_cast<std::size_t>(r0) * C);
  });
  return out;
}

std::vector<std::int32_t> labels_for_model(const data::TokenDataset& ds, const model::BertConfig& cfg,
                                           const std::string& source) {
  std::vector<std::string> model_classes;
  for (int k = 0; k < cfg.num_labels; ++k) model_classes.push_back(cfg.label(k));
  return data::labels_for_model(ds.y, ds.classes, model_classes, source);
}

LoadedModel load_model_dir(const std::string& dir, int threads, int micro_batch, const std::string& backend_name) {
  LoadedModel lm;
  train::Checkpoint ck = train::load_checkpoint(dir, false);
  lm.config = ck.config;
  lm.tokenizer_path = ck.tokenizer_path;
  const SavedState st =
      read_saved_state(ck.state, dir + "/trainer_state.json", false, ck.config.max_position_embeddings);
  lm.seq_len = st.has_options ? st.options.seq_len : std::min(128, ck.config.max_position_embeddings);
  lm.seed = st.has_options ? st.options.seed : 0;
  if (!lm.tokenizer_path.empty()) {  // its ids index the embedding table: it must not be larger
    const int pieces = data::Tokenizer::load(lm.tokenizer_path).vocab_size();
    if (pieces > lm.config.vocab_size)
      bad_input(lm.tokenizer_path, ": ", pieces, " pieces, more than vocab_size ", lm.config.vocab_size, " in ", dir,
                "/config.json (the tokenizer belongs to another model)");
  }
  lm.model = std::make_unique<model::Bert>(lm.config);
  backend::BackendOptions bo;
  bo.threads = threads;
  lm.backend = backend::make_backend(backend_name, bo);
  train::ExecutorOptions eo;
  eo.micro_batch = micro_batch;
  eo.inference_only = true;
  lm.executor = train::make_executor("baseline", *lm.model, *lm.backend, eo);
  lm.executor->write_state(ck.params.data(), nullptr, nullptr, 0, 0);
  return lm;
}

}  // namespace strata::app
