// BertMlm layout and init; MlmRunner: embeddings and encoder layers as FullModelRunner runs them, then the predicted
// rows gathered into (M, C), the MLM head on them, and its gradient scattered back into the (B, T, C) gradient.
#include "strata/model/bert_mlm.h"

#include <algorithm>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::model {

namespace {

BertConfig one_label(BertConfig cfg) {  // the classifier slab is unused: keep it minimal
  cfg.num_labels = 1;
  cfg.id2label.clear();
  return cfg;
}

bool in_task_head(const std::string& name) {
  return name.rfind("bert.pooler.", 0) == 0 || name.rfind("classifier.", 0) == 0;
}

}  // namespace

BertMlm::BertMlm(const BertConfig& cfg)
    : bert_(one_label(cfg)), head_(nn::MlmHeadConfig{cfg.hidden_size, cfg.vocab_size, cfg.layer_norm_eps}) {
  head_offset_ = bert_.total_floats();
  total_ = head_offset_ + (head_.param_floats() + 15) / 16 * 16;
  wte_offset_ = bert_.find("bert.embeddings.word_embeddings.weight")->offset;
  for (const TensorInfo& t : bert_.tensors())
    if (!in_task_head(t.name)) tensors_.push_back(t);
  for (const nn::ParamSpec& p : head_.params())
    tensors_.push_back({p.name, p.shape, bert_.num_layers(), head_offset_ + p.offset, p.numel()});
}

void BertMlm::init(float* params, std::uint64_t seed) const {
  bert_.init(params, seed);
  float* h = params + head_offset_;
  std::fill(h, params + total_, 0.0f);
  for (const nn::ParamSpec& p : head_.params()) {
    float* t = h + p.offset;
    if (p.name.find("LayerNorm.weight") != std::string::npos) {
      std::fill(t, t + p.numel(), 1.0f);
    } else if (p.name == "cls.predictions.transform.dense.weight") {
      Rng rng(derive_seed(seed, head_offset_ + p.offset));
      for (std::size_t i = 0; i < p.numel(); ++i) t[i] = static_cast<float>(rng.normal() * bert_.config().initializer_range);
    }
  }
}

MlmRunner::MlmRunner(const BertMlm& model, backend::Backend& be) : model_(model), be_(be) {}

void MlmRunner::ensure(int B, int T, int M) {
  const Bert& bert = model_.bert();
  const std::size_t C = bert.config().hidden_size, V = bert.config().vocab_size;
  if (B != B_ || T != T_) {
    saved_.clear();
    acts_.clear();
    const int E = bert.num_layers() - 1;  // embeddings + encoder layers (the classifier slab is not run)
    std::size_t ws = 0;
    for (int i = 0; i < E; ++i) {
      saved_.push_back(be_.alloc(Space::kDevice, bert.layer(i).saved_bytes(B, T), cat("layer ", i, " saved")));
      ws = std::max(ws, bert.layer(i).workspace_bytes(B, T));
      acts_.push_back(be_.alloc(Space::kDevice, B * T * C * sizeof(float), cat("layer ", i, " output")));
    }
    workspace_ = be_.alloc(Space::kDevice, ws, "layer workspace");
    grad_a_ = be_.alloc(Space::kDevice, B * T * C * sizeof(float), "activation gradient");
    grad_b_ = be_.alloc(Space::kDevice, B * T * C * sizeof(float), "activation gradient");
    B_ = B, T_ = T, M_ = -1;
  }
  if (M > M_) {
    const std::size_t m = static_cast<std::size_t>(std::max(M, 1));
    rows_ = be_.alloc(Space::kDevice, m * C * sizeof(float), "predicted rows");
    drows_ = be_.alloc(Space::kDevice, m * C * sizeof(float), "predicted rows gradient");
    head_saved_ = be_.alloc(Space::kDevice, model_.head().saved_bytes(static_cast<int>(m)), "MLM head saved");
    head_ws_ = be_.alloc(Space::kDevice, model_.head().workspace_bytes(static_cast<int>(m)), "MLM head workspace");
    logits_dev_ = be_.alloc(Space::kDevice, m * V * sizeof(float), "MLM logits");
    losses_dev_ = be_.alloc(Space::kDevice, m * sizeof(float), "MLM losses");
    labels_dev_ = be_.alloc(Space::kDevice, m * sizeof(std::int32_t), "MLM labels");
    M_ = static_cast<int>(m);
  }
}

MlmResult MlmRunner::run(const float* params, float* grads, const MlmBatch& batch, const nn::Ctx& ctx_in,
                         bool keep_logits) {
  const Bert& bert = model_.bert();
  const int B = batch.B, T = batch.T, E = bert.num_layers() - 1;
  const std::size_t C = bert.config().hidden_size, V = bert.config().vocab_size;
  std::vector<std::int32_t> rows, labels;  // predicted token positions (b * T + t) and their labels
  for (int i = 0; i < B * T; ++i)
    if (batch.labels[i] != kIgnore) {
      if (batch.labels[i] < 0 || static_cast<std::size_t>(batch.labels[i]) >= V)
        bad_input("MLM label ", batch.labels[i], " at position ", i, " outside the vocabulary of ", V);
      rows.push_back(i);
      labels.push_back(batch.labels[i]);
    }
  const int M = static_cast<int>(rows.size());
  ensure(B, T, M);
  nn::Ctx ctx = ctx_in;
  ctx.micro_batch = 0;
  ctx.loss_scale = M > 0 ? 1.0f / static_cast<float>(M) : 0.0f;
  nn::Activation tok;
  tok.B = B, tok.T = T, tok.ids = batch.ids, tok.segs = batch.segs, tok.key_mask = batch.key_mask;
  std::vector<nn::Activation> in(E, tok), out(E, tok);
  for (int i = 0; i < E; ++i) {
    if (i > 0) in[i].x = acts_[i - 1].f32();
    out[i].x = acts_[i].f32();
  }
  for (int i = 0; i < E; ++i) {
    ctx.layer_index = i;
    bert.layer(i).forward(ctx, params + bert.slab_offset(i), in[i], out[i], saved_[i].data(), workspace_.data());
  }
  MlmResult r;
  r.predicted = M;
  if (M == 0) return r;
  be_.gather_rows_async(rows_.f32(), Space::kDevice, acts_[E - 1].f32(), Space::kDevice, rows, C * sizeof(float)).wait();
  be_.copy_async(labels_dev_.data(), Space::kDevice, labels.data(), Space::kHost, M * sizeof(std::int32_t)).wait();
  const float* head = params + model_.head_offset();
  const float* wte = params + model_.word_embeddings_offset();
  const auto* lab = static_cast<const std::int32_t*>(labels_dev_.data());
  ctx.layer_index = E;
  model_.head().forward(ctx, head, wte, rows_.f32(), lab, M, logits_dev_.f32(), losses_dev_.f32(), head_saved_.data(),
                        head_ws_.data());
  std::vector<float> losses(M);
  be_.copy_async(losses.data(), Space::kHost, losses_dev_.f32(), Space::kDevice, M * sizeof(float)).wait();
  double sum = 0.0;
  for (float l : losses) sum += l;
  r.loss = sum / M;
  if (keep_logits || !grads) {
    logits_.resize(static_cast<std::size_t>(M) * V);
    be_.copy_async(logits_.data(), Space::kHost, logits_dev_.f32(), Space::kDevice, logits_.size() * sizeof(float))
        .wait();
    for (int m = 0; m < M; ++m) {
      const float* row = logits_.data() + static_cast<std::size_t>(m) * V;
      r.correct += static_cast<int>(std::max_element(row, row + V) - row) == labels[m];
    }
  }
  if (!grads) return r;
  be_.zero(drows_.data(), Space::kDevice, static_cast<std::size_t>(M) * C * sizeof(float));
  model_.head().backward(ctx, head, wte, rows_.f32(), lab, M, head_saved_.data(), drows_.f32(),
                         grads + model_.head_offset(), grads + model_.word_embeddings_offset(), head_ws_.data());
  const std::size_t act_bytes = static_cast<std::size_t>(B) * T * C * sizeof(float);
  float* dout = grad_a_.f32();
  float* din = grad_b_.f32();
  be_.zero(dout, Space::kDevice, act_bytes);
  be_.scatter_rows_async(dout, Space::kDevice, drows_.f32(), Space::kDevice, rows, C * sizeof(float)).wait();
  for (int i = E - 1; i >= 0; --i) {
    ctx.layer_index = i;
    if (i > 0) be_.zero(din, Space::kDevice, act_bytes);
    bert.layer(i).backward(ctx, params + bert.slab_offset(i), in[i], saved_[i].data(), dout, i > 0 ? din : nullptr,
                           grads + bert.slab_offset(i), workspace_.data());
    std::swap(dout, din);
  }
  be_.synchronize();
  return r;
}

}  // namespace strata::model
