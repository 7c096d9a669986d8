// Layer stack, slab layout, HF names and initialisation of a BERT classifier, and the whole-model driver.
#include "strata/model/bert.h"

#include <algorithm>

#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/nn/classifier_head.h"
#include "strata/nn/embedding_layer.h"
#include "strata/nn/encoder_layer.h"
#include "strata/nn/mlm_head.h"

namespace strata::model {

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

Bert::Bert(const BertConfig& cfg, Head head) : cfg_(cfg), head_(head) {
  cfg_.validate();
  nn::EmbeddingConfig e;
  e.vocab = cfg.vocab_size;
  e.hidden = cfg.hidden_size;
  e.max_positions = cfg.max_position_embeddings;
  e.type_vocab = cfg.type_vocab_size;
  e.pad_token_id = cfg.pad_token_id;
  e.dropout = cfg.hidden_dropout_prob;
  e.layer_norm_eps = cfg.layer_norm_eps;
  layers_.push_back(std::make_unique<nn::EmbeddingLayer>(e));
  prefixes_.push_back("bert.embeddings.");
  nn::EncoderLayerConfig l;
  l.hidden = cfg.hidden_size;
  l.heads = cfg.num_attention_heads;
  l.intermediate = cfg.intermediate_size;
  l.hidden_dropout = cfg.hidden_dropout_prob;
  l.attention_dropout = cfg.attention_probs_dropout_prob;
  l.layer_norm_eps = cfg.layer_norm_eps;
  for (int i = 0; i < cfg.num_hidden_layers; ++i) {
    layers_.push_back(std::make_unique<nn::EncoderLayer>(l));
    prefixes_.push_back(cat("bert.encoder.layer.", i, "."));
  }
  if (head == Head::kMaskedLm)
    layers_.push_back(std::make_unique<nn::MlmHeadLayer>(
        nn::MlmHeadConfig{cfg.hidden_size, cfg.vocab_size, static_cast<float>(cfg.layer_norm_eps)}));
  else
    layers_.push_back(std::make_unique<nn::ClassifierHead>(
        nn::ClassifierHeadConfig{cfg.hidden_size, cfg.num_labels, cfg.pooled_dropout()}));
  prefixes_.push_back("");
  for (int i = 0; i < num_layers(); ++i) {
    offsets_.push_back(total_);
    for (const nn::ParamSpec& p : layers_[i]->params())
      tensors_.push_back({prefixes_[i] + p.name, p.shape, i, total_ + p.offset, p.numel()});
    total_ += (layers_[i]->param_floats() + 15) / 16 * 16;
  }
}

const nn::EmbeddingLayer& Bert::embeddings() const { return static_cast<const nn::EmbeddingLayer&>(*layers_.front()); }

const TensorInfo* Bert::find(std::string_view name) const {
  for (const TensorInfo& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

void Bert::init_slab(int layer, float* slab, std::uint64_t seed) const {
  const nn::Layer& l = *layers_.at(layer);
  std::fill(slab, slab + l.param_floats(), 0.0f);
  const double range = cfg_.initializer_range;
  for (const nn::ParamSpec& p : l.params()) {
    const std::string name = prefixes_[layer] + p.name;
    float* t = slab + p.offset;
    const std::size_t n = p.numel();
    if (name.find("LayerNorm.") != std::string::npos) {
      if (ends_with(name, ".weight")) std::fill(t, t + n, 1.0f);
    } else if (ends_with(name, ".weight")) {
      // One stream per tensor, keyed by its offset in the whole vector (stable under any slab order of init).
      Rng rng(derive_seed(seed, offsets_[layer] + p.offset));
      for (std::size_t i = 0; i < n; ++i) t[i] = static_cast<float>(rng.normal() * range);
      if (name == "bert.embeddings.word_embeddings.weight")
        std::fill(t + static_cast<std::size_t>(cfg_.pad_token_id) * p.shape[1],
                  t + static_cast<std::size_t>(cfg_.pad_token_id + 1) * p.shape[1], 0.0f);
    }
  }
}

void Bert::init(float* params, std::uint64_t seed) const {
  std::fill(params, params + total_, 0.0f);
  for (int i = 0; i < num_layers(); ++i) init_slab(i, params + offsets_[i], seed);
}

FullModelRunner::FullModelRunner(const Bert& model, backend::Backend& be) : model_(model), be_(be) {}

std::size_t FullModelRunner::device_bytes(const Bert& model, int B, int T) {
  const int L = model.num_layers();
  const std::size_t C = model.config().hidden_size, K = model.config().num_labels;
  const std::size_t act = static_cast<std::size_t>(B) * T * C * sizeof(float);
  std::size_t total = 0, ws = 0;
  for (int i = 0; i < L; ++i) {
    total += model.layer(i).saved_bytes(B, T);
    ws = std::max(ws, model.layer(i).workspace_bytes(B, T));
    if (i + 1 < L) total += act;
  }
  return total + ws + 2 * act + B * K * sizeof(float) + B * sizeof(float);
}

void FullModelRunner::ensure(int B, int T) {
  if (B == B_ && T == T_) return;
  saved_.clear();
  acts_.clear();
  const int L = model_.num_layers();
  const std::size_t C = model_.config().hidden_size, K = model_.config().num_labels;
  std::size_t ws = 0;
  for (int i = 0; i < L; ++i) {
    const nn::Layer& l = model_.layer(i);
    saved_.push_back(be_.alloc(Space::kDevice, l.saved_bytes(B, T), cat("layer ", i, " saved activations")));
    ws = std::max(ws, l.workspace_bytes(B, T));
    if (i + 1 < L) acts_.push_back(be_.alloc(Space::kDevice, B * T * C * sizeof(float), cat("layer ", i, " output")));
  }
  workspace_ = be_.alloc(Space::kDevice, ws, "layer workspace");
  grad_a_ = be_.alloc(Space::kDevice, B * T * C * sizeof(float), "activation gradient");
  grad_b_ = be_.alloc(Space::kDevice, B * T * C * sizeof(float), "activation gradient");
  logits_dev_ = be_.alloc(Space::kDevice, B * K * sizeof(float), "logits");
  losses_dev_ = be_.alloc(Space::kDevice, B * sizeof(float), "losses");
  pooled_dev_ = Buffer();
  B_ = B;
  T_ = T;
}

double FullModelRunner::run(const float* params, float* grads, const Batch& batch, const nn::Ctx& ctx_in,
                            int micro_batches, bool keep_pooled) {
  if (micro_batches <= 0 || batch.B % micro_batches != 0)
    bad_input("batch of ", batch.B, " sequences cannot be split into ", micro_batches, " equal micro-batches");
  if (grads && !batch.labels) bad_input("a backward pass needs labels");
  const int b = batch.B / micro_batches, T = batch.T, L = model_.num_layers();
  const std::size_t C = model_.config().hidden_size, K = model_.config().num_labels;
  ensure(b, T);
  logits_.assign(static_cast<std::size_t>(batch.B) * K, 0.0f);
  losses_.assign(batch.labels ? batch.B : 0, 0.0f);
  if (keep_pooled && pooled_dev_.empty())
    pooled_dev_ = be_.alloc(Space::kDevice, static_cast<std::size_t>(b) * C * sizeof(float), "pooled output");
  pooled_.assign(keep_pooled ? static_cast<std::size_t>(batch.B) * C : 0, 0.0f);
  double loss_sum = 0.0;
  for (int m = 0; m < micro_batches; ++m) {
    const std::size_t t0 = static_cast<std::size_t>(m) * b * T;  // first token of the micro-batch
    nn::Activation tok;
    tok.B = b;
    tok.T = T;
    tok.ids = batch.ids + t0;
    tok.segs = batch.segs ? batch.segs + t0 : nullptr;
    tok.key_mask = batch.key_mask ? batch.key_mask + t0 : nullptr;
    tok.labels = batch.labels ? batch.labels + static_cast<std::size_t>(m) * b : nullptr;
    nn::Ctx ctx = ctx_in;
    ctx.micro_batch = m;
    ctx.loss_scale = 1.0f / static_cast<float>(batch.B * ctx_in.ranks);
    // acts[i] of layer i: its input is the previous layer's output.
    std::vector<nn::Activation> in(L, tok), out(L, tok);
    for (int i = 0; i < L; ++i) {
      if (i > 0) in[i].x = acts_[i - 1].f32();
      if (i + 1 < L) out[i].x = acts_[i].f32();
    }
    out[L - 1].logits = logits_dev_.f32();
    out[L - 1].losses = losses_dev_.f32();
    out[L - 1].pooled = keep_pooled ? pooled_dev_.f32() : nullptr;
    for (int i = 0; i < L; ++i) {
      ctx.layer_index = i;
      model_.layer(i).forward(ctx, params + model_.slab_offset(i), in[i], out[i], saved_[i].data(), workspace_.data());
    }
    be_.copy_async(logits_.data() + static_cast<std::size_t>(m) * b * K, Space::kHost, logits_dev_.f32(),
                   Space::kDevice, b * K * sizeof(float))
        .wait();
    if (keep_pooled)
      be_.copy_async(pooled_.data() + static_cast<std::size_t>(m) * b * C, Space::kHost, pooled_dev_.f32(),
                     Space::kDevice, static_cast<std::size_t>(b) * C * sizeof(float))
          .wait();
    if (batch.labels) {
      float* l = losses_.data() + static_cast<std::size_t>(m) * b;
      be_.copy_async(l, Space::kHost, losses_dev_.f32(), Space::kDevice, b * sizeof(float)).wait();
      for (int i = 0; i < b; ++i) loss_sum += l[i];
    }
    if (!grads) continue;
    float* dout = grad_a_.f32();  // gradient of layer i's output
    float* din = grad_b_.f32();
    const std::size_t act_bytes = static_cast<std::size_t>(b) * T * C * sizeof(float);
    for (int i = L - 1; i >= 0; --i) {
      ctx.layer_index = i;
      if (i > 0) be_.zero(din, Space::kDevice, act_bytes);
      model_.layer(i).backward(ctx, params + model_.slab_offset(i), in[i], saved_[i].data(), i + 1 < L ? dout : nullptr,
                               i > 0 ? din : nullptr, grads + model_.slab_offset(i), workspace_.data());
      std::swap(dout, din);
    }
  }
  be_.synchronize();
  return batch.labels ? loss_sum / batch.B : 0.0;
}

}  // namespace strata::model
