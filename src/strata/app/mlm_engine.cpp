// The pre-training engines: baseline (MlmRunner + host AdamW with global-norm clipping) and L2L (the relay executor
// over model::Bert with the masked-LM head), the latter's parameters mapped to and from BertMlm's layout by name.
#include "strata/app/mlm_engine.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <vector>

#include "strata/core/error.h"
#include "strata/core/tensor.h"
#include "strata/train/optim.h"

namespace strata::app {

namespace {

std::unique_ptr<backend::Backend> make_device(const MlmEngineOptions& o) {
  backend::BackendOptions bo;
  bo.threads = o.threads;
  bo.device_budget = o.device_memory;
  bo.stash_budget = o.stash_memory;
  return backend::make_backend(o.backend, bo);
}

// Every layer resident; the update on host arrays (the same AdamW and clipping the EPS runs).
class BaselineMlmEngine final : public MlmEngine {
 public:
  BaselineMlmEngine(const model::BertMlm& model, const MlmEngineOptions& o, int B, int T)
      : model_(model), o_(o), be_(make_device(o)), runner_(model, *be_), n_(model.total_floats()) {
    if (o.group && o.group->size() > 1) bad_input("the baseline pre-training engine runs in one process");
    if (o.backend != "cpu") bad_input("the baseline pre-training engine runs on the cpu backend; use --executor l2l");
    if (o.micro_batch > 0 && o.micro_batch != B)
      bad_input("--micro-batch: the baseline executor runs the whole batch at once (", B, "); micro-batches are l2l's");
    (void)T;
    p_.assign(n_, 0.0f), g_.assign(n_, 0.0f), m_.assign(n_, 0.0f), v_.assign(n_, 0.0f);
  }

  MlmStepResult step(const model::MlmBatch& batch, std::int64_t step, double lr) override {
    std::fill(g_.begin(), g_.end(), 0.0f);
    nn::Ctx ctx;
    ctx.be = be_.get(), ctx.seed = o_.seed, ctx.step = step + 1, ctx.training = true;
    const model::MlmResult r = runner_.run(p_.data(), g_.data(), batch, ctx);
    const train::GradSpan span{g_.data(), n_};
    const double norm = train::global_grad_norm(be_->pool(), std::span(&span, 1));
    MlmStepResult out{r.loss, r.predicted, r.correct, std::isfinite(norm)};
    if (out.updated) {
      train::optimizer_step(be_->pool(), o_.optim, p_.data(), g_.data(), m_.data(), v_.data(), n_, lr, ++updates_,
                            train::clip_factor(norm, o_.optim.clip));
    }
    return out;
  }

  MlmStepResult evaluate(const model::MlmBatch& batch) override {
    nn::Ctx ctx;
    ctx.be = be_.get();
    const model::MlmResult r = runner_.run(p_.data(), nullptr, batch, ctx);
    return MlmStepResult{r.loss, r.predicted, r.correct, true};
  }

  void read_state(float* params, float* m, float* v) override {
    std::copy(p_.begin(), p_.end(), params);
    if (m) std::copy(m_.begin(), m_.end(), m);
    if (v) std::copy(v_.begin(), v_.end(), v);
  }
  void write_state(const float* params, const float* m, const float* v, std::int64_t /*steps*/,
                   std::int64_t updates) override {
    std::copy_n(params, n_, p_.begin());
    std::fill(m_.begin(), m_.end(), 0.0f);
    std::fill(v_.begin(), v_.end(), 0.0f);
    if (m) std::copy_n(m, n_, m_.begin());
    if (v) std::copy_n(v, n_, v_.begin());
    updates_ = updates;
  }
  std::int64_t updates_done() const override { return updates_; }
  std::size_t device_peak_bytes() const override { return be_->memory().device().peak(); }
  std::string describe() const override { return "baseline (every layer resident)"; }

 private:
  const model::BertMlm& model_;
  MlmEngineOptions o_;
  std::unique_ptr<backend::Backend> be_;
  model::MlmRunner runner_;
  std::size_t n_;
  std::vector<float> p_, g_, m_, v_;
  std::int64_t updates_ = 0;
};

// The L2L relay with the masked-LM head.
class L2LMlmEngine final : public MlmEngine {
 public:
  L2LMlmEngine(const model::BertMlm& model, const MlmEngineOptions& o, int B, int T)
      : model_(model), bert_(model.bert().config(), model::Head::kMaskedLm), be_(make_device(o)), B_(B), T_(T) {
    train::ExecutorOptions eo;
    eo.micro_batch = o.micro_batch;
    eo.seed = o.seed;
    eo.optim = o.optim;
    eo.device_dtype = parse_dtype(o.device_dtype, "--device-dtype");
    eo.eps_threads = o.eps_threads;
    eo.stash = o.stash == "device" ? Space::kDevice : Space::kStash;
    eo.recompute = train::parse_recompute(o.recompute, "--recompute");
    eo.group = o.group;
    executor_ = train::make_executor("l2l", bert_, *be_, eo);
    micro_batch_ = executor_->prepare(B, T);  // exit 3 here when nothing fits
  }

  MlmStepResult step(const model::MlmBatch& batch, std::int64_t /*step*/, double lr) override {
    const train::StepStats s = executor_->step(as_batch(batch), lr);
    return MlmStepResult{s.loss, s.predicted, s.correct, s.updated};
  }
  MlmStepResult evaluate(const model::MlmBatch& batch) override {
    const train::StepStats s = executor_->evaluate(as_batch(batch));
    return MlmStepResult{s.loss, s.predicted, s.correct, true};
  }

  void read_state(float* params, float* m, float* v) override {
    const std::size_t n = bert_.total_floats();
    std::vector<float> p(n), mm(m ? n : 0), vv(v ? n : 0);
    executor_->read_state(p.data(), m ? mm.data() : nullptr, v ? vv.data() : nullptr);
    relay_to_mlm_layout(model_, bert_, p.data(), params);
    if (m) relay_to_mlm_layout(model_, bert_, mm.data(), m);
    if (v) relay_to_mlm_layout(model_, bert_, vv.data(), v);
  }
  void write_state(const float* params, const float* m, const float* v, std::int64_t steps,
                   std::int64_t updates) override {
    const std::size_t n = bert_.total_floats();
    std::vector<float> p(n), mm(m ? n : 0), vv(v ? n : 0);
    mlm_to_relay_layout(model_, bert_, params, p.data());
    if (m) mlm_to_relay_layout(model_, bert_, m, mm.data());
    if (v) mlm_to_relay_layout(model_, bert_, v, vv.data());
    executor_->write_state(p.data(), m ? mm.data() : nullptr, v ? vv.data() : nullptr, steps, updates);
  }
  std::int64_t updates_done() const override { return executor_->updates_done(); }
  std::size_t device_peak_bytes() const override { return be_->memory().device().peak(); }
  std::string describe() const override {
    return cat("l2l, micro-batch ", micro_batch_, ", device plan ",
               format_bytes(executor_->footprint(B_, T_, micro_batch_)));
  }

 private:
  static model::Batch as_batch(const model::MlmBatch& b) {
    model::Batch out;
    out.B = b.B, out.T = b.T, out.ids = b.ids, out.segs = b.segs, out.key_mask = b.key_mask;
    out.token_labels = b.labels;
    return out;
  }

  const model::BertMlm& model_;
  model::Bert bert_;
  std::unique_ptr<backend::Backend> be_;
  int B_ = 0, T_ = 0;
  std::unique_ptr<train::Executor> executor_;
  int micro_batch_ = 0;
};

}  // namespace

namespace {
// f(tensor in BertMlm, the same tensor in the relay model), for every tensor of BertMlm.
template <typename F>
void for_each_tensor(const model::BertMlm& mlm, const model::Bert& relay, F&& f) {
  for (const model::TensorInfo& t : mlm.tensors()) {
    const model::TensorInfo* u = relay.find(t.name);
    STRATA_CHECK(u && u->numel == t.numel, "masked-LM layouts disagree on ", t.name);
    f(t, *u);
  }
}
}  // namespace

void mlm_to_relay_layout(const model::BertMlm& mlm, const model::Bert& relay, const float* from, float* to) {
  std::fill_n(to, relay.total_floats(), 0.0f);
  for_each_tensor(mlm, relay, [&](const model::TensorInfo& a, const model::TensorInfo& b) {
    std::copy_n(from + a.offset, a.numel, to + b.offset);
  });
}

void relay_to_mlm_layout(const model::BertMlm& mlm, const model::Bert& relay, const float* from, float* to) {
  std::fill_n(to, mlm.total_floats(), 0.0f);
  for_each_tensor(mlm, relay, [&](const model::TensorInfo& a, const model::TensorInfo& b) {
    std::copy_n(from + b.offset, a.numel, to + a.offset);
  });
}

std::unique_ptr<MlmEngine> make_mlm_engine(const model::BertMlm& model, const MlmEngineOptions& options, int B, int T) {
  train::validate(options.optim);
  if (options.executor == "baseline") return std::make_unique<BaselineMlmEngine>(model, options, B, T);
  if (options.executor == "l2l") return std::make_unique<L2LMlmEngine>(model, options, B, T);
  bad_input("--executor: expected baseline or l2l, found '", options.executor, "'");
}

}  // namespace strata::app
