// The baseline executor: the whole model resident on the device (parameters, gradients, both optimizer moments and
// every layer's saved activations for one micro-batch), the batch copied in per step, gradients accumulated over the
// micro-batches, then one fused optimizer pass per layer slab. It is the reference the L2L executor must match.
#include "strata/train/executor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "strata/core/error.h"
#include "strata/train/optim.h"

namespace strata::train {

namespace {

std::size_t tensor_numel(const model::Bert& m, const char* name) {
  const model::TensorInfo* t = m.find(name);
  return t ? t->numel : 0;
}

// Device copies of one batch's token arrays, reallocated only when the batch shape changes.
class DeviceBatch {
 public:
  model::Batch upload(backend::Backend& be, const model::Batch& host) {
    const std::size_t n = static_cast<std::size_t>(host.B) * host.T;
    if (host.B != B_ || host.T != T_) {
      ids_ = be.alloc(Space::kDevice, n * sizeof(std::int32_t), "batch token ids");
      segs_ = be.alloc(Space::kDevice, n * sizeof(std::int32_t), "batch segment ids");
      mask_ = be.alloc(Space::kDevice, n * sizeof(float), "batch attention mask");
      labels_ = be.alloc(Space::kDevice, static_cast<std::size_t>(host.B) * sizeof(std::int32_t), "batch labels");
      B_ = host.B;
      T_ = host.T;
    }
    model::Batch d = host;
    std::vector<backend::Event> ev;
    auto put = [&](const void* src, Buffer& dst, std::size_t bytes) -> void* {
      if (!src) return nullptr;
      ev.push_back(be.copy_async(dst.data(), Space::kDevice, src, Space::kHost, bytes));
      return dst.data();
    };
    d.ids = static_cast<const std::int32_t*>(put(host.ids, ids_, n * sizeof(std::int32_t)));
    d.segs = static_cast<const std::int32_t*>(put(host.segs, segs_, n * sizeof(std::int32_t)));
    d.key_mask = static_cast<const float*>(put(host.key_mask, mask_, n * sizeof(float)));
    d.labels = static_cast<const std::int32_t*>(
        put(host.labels, labels_, static_cast<std::size_t>(host.B) * sizeof(std::int32_t)));
    for (const backend::Event& e : ev) e.wait();
    return d;
  }

 private:
  int B_ = -1, T_ = -1;
  Buffer ids_, segs_, mask_, labels_;
};

class BaselineExecutor final : public Executor {
 public:
  BaselineExecutor(const model::Bert& model, backend::Backend& be, const ExecutorOptions& o)
      : model_(model), be_(be), opt_(o), runner_(model, be) {
    if (o.micro_batch <= 0) bad_input("--micro-batch must be positive, given ", o.micro_batch);
    if (o.optim.name != "adamw" && o.optim.name != "lamb")
      bad_input("--optimizer: expected adamw or lamb, found '", o.optim.name, "'");
    const std::size_t bytes = model.total_floats() * sizeof(float);
    params_ = be.alloc(Space::kDevice, bytes, "model parameters");
    be.zero(params_.data(), Space::kDevice, bytes);
    if (!o.inference_only) {
      grads_ = be.alloc(Space::kDevice, bytes, "parameter gradients");
      m_ = be.alloc(Space::kDevice, bytes, "optimizer first moments");
      v_ = be.alloc(Space::kDevice, bytes, "optimizer second moments");
      be.zero(m_.data(), Space::kDevice, bytes);
      be.zero(v_.data(), Space::kDevice, bytes);
    }
  }

  std::string name() const override { return "baseline"; }
  const model::Bert& model() const override { return model_; }
  backend::Backend& backend() override { return be_; }
  std::int64_t steps_done() const override { return steps_; }
  std::int64_t updates_done() const override { return updates_; }

  StepStats step(const model::Batch& batch, double lr) override {
    if (opt_.inference_only) internal_error("step() on an inference-only executor");
    if (!batch.labels) bad_input("a training step needs labels");
    check_split(batch.B);
    const auto t0 = std::chrono::steady_clock::now();
    StepStats st;
    st.step = steps_;
    st.lr = lr;
    st.tokens = static_cast<std::size_t>(batch.B) * batch.T;
    const model::Batch d = device_batch_.upload(be_, batch);
    be_.zero(grads_.data(), Space::kDevice, grads_.bytes());
    nn::Ctx ctx;
    ctx.be = &be_;
    ctx.seed = opt_.seed;
    ctx.step = steps_;
    ctx.training = true;
    st.loss = runner_.run(params_.f32(), grads_.f32(), d, ctx, batch.B / opt_.micro_batch);

    const int L = model_.num_layers();
    std::vector<GradSpan> spans;
    for (int i = 0; i < L; ++i) spans.emplace_back(grads_.f32() + model_.slab_offset(i), model_.slab_floats(i));
    st.grad_norm = global_grad_norm(be_.pool(), spans);
    if (!std::isfinite(st.grad_norm) || !std::isfinite(st.loss)) {
      st.updated = false;
    } else {
      const float scale = clip_factor(st.grad_norm, opt_.optim.clip);
      ++updates_;
      for (int i = 0; i < L; ++i) update_slab(i, lr, scale);
    }
    ++steps_;
    be_.synchronize();
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
  }

  void infer(const model::Batch& batch, float* logits, float* pooled) override {
    const int mb = opt_.micro_batch, T = batch.T;
    const std::size_t K = model_.config().num_labels, C = model_.config().hidden_size;
    nn::Ctx ctx;
    ctx.be = &be_;
    ctx.training = false;
    // Chunks of exactly one micro-batch (the work buffers keep their shape); the last one is padded by repeating
    // its first row, and the padding's outputs are dropped.
    std::vector<std::int32_t> ids(static_cast<std::size_t>(mb) * T), segs;
    std::vector<float> mask;
    for (int r0 = 0; r0 < batch.B; r0 += mb) {
      const int rows = std::min(mb, batch.B - r0);
      model::Batch chunk;
      chunk.B = mb;
      chunk.T = T;
      auto fill = [&](auto* dst, const auto* src) {
        const std::size_t row = static_cast<std::size_t>(T);
        for (int r = 0; r < mb; ++r)
          std::copy_n(src + static_cast<std::size_t>(r0 + (r < rows ? r : 0)) * row, row, dst + r * row);
      };
      fill(ids.data(), batch.ids);
      chunk.ids = ids.data();
      if (batch.segs) {
        segs.resize(ids.size());
        fill(segs.data(), batch.segs);
        chunk.segs = segs.data();
      }
      if (batch.key_mask) {
        mask.resize(ids.size());
        fill(mask.data(), batch.key_mask);
        chunk.key_mask = mask.data();
      }
      const model::Batch d = device_batch_.upload(be_, chunk);
      runner_.run(params_.f32(), nullptr, d, ctx, 1, pooled != nullptr);
      if (logits) std::copy_n(runner_.logits().data(), rows * K, logits + static_cast<std::size_t>(r0) * K);
      if (pooled) std::copy_n(runner_.pooled().data(), rows * C, pooled + static_cast<std::size_t>(r0) * C);
    }
  }

  void read_state(float* params, float* m, float* v) override {
    const std::size_t bytes = params_.bytes();
    auto get = [&](float* dst, const Buffer& src) {
      if (!dst) return;
      if (src.empty()) {
        std::memset(dst, 0, bytes);
        return;
      }
      be_.copy_async(dst, Space::kHost, src.data(), Space::kDevice, bytes).wait();
    };
    get(params, params_);
    get(m, m_);
    get(v, v_);
  }

  void write_state(const float* params, const float* m, const float* v, std::int64_t steps_done,
                   std::int64_t updates_done) override {
    const std::size_t bytes = params_.bytes();
    auto put = [&](Buffer& dst, const float* src) {
      if (dst.empty()) return;
      if (!src) {
        be_.zero(dst.data(), Space::kDevice, bytes);
        return;
      }
      be_.copy_async(dst.data(), Space::kDevice, src, Space::kHost, bytes).wait();
    };
    put(params_, params);
    put(m_, m);
    put(v_, v);
    steps_ = steps_done;
    updates_ = updates_done;
  }

 private:
  void check_split(int B) const {
    if (B % opt_.micro_batch != 0)
      bad_input("batch of ", B, " is not a multiple of --micro-batch ", opt_.micro_batch);
  }

  void update_slab(int i, double lr, float scale) {
    const std::size_t off = model_.slab_offset(i), n = model_.slab_floats(i);
    float* p = params_.f32() + off;
    const float* g = grads_.f32() + off;
    float* m = m_.f32() + off;
    float* v = v_.f32() + off;
    const OptimConfig& o = opt_.optim;
    if (o.name == "adamw") {
      AdamWParams hp;
      hp.lr = static_cast<float>(lr);
      hp.beta1 = o.beta1;
      hp.beta2 = o.beta2;
      hp.eps = o.eps < 0 ? 1e-8f : o.eps;
      hp.weight_decay = o.weight_decay;
      adamw_step(be_.pool(), p, g, m, v, n, hp, updates_, scale);
    } else {
      LambParams hp;
      hp.lr = static_cast<float>(lr);
      hp.beta1 = o.beta1;
      hp.beta2 = o.beta2;
      hp.eps = o.eps < 0 ? 1e-6f : o.eps;
      hp.weight_decay = o.weight_decay;
      lamb_step(be_.pool(), p, g, m, v, n, hp, updates_, {}, scale);
    }
  }

  const model::Bert& model_;
  backend::Backend& be_;
  ExecutorOptions opt_;
  model::FullModelRunner runner_;
  Buffer params_, grads_, m_, v_;
  DeviceBatch device_batch_;
  std::int64_t steps_ = 0, updates_ = 0;
};

}  // namespace

std::unique_ptr<Executor> make_executor(const std::string& name, const model::Bert& model, backend::Backend& be,
                                        const ExecutorOptions& options) {
  if (name == "baseline") return std::make_unique<BaselineExecutor>(model, be, options);
  bad_input("--executor: expected baseline, found '", name, "'");
}

std::size_t non_embedding_params(const model::Bert& model) {
  std::size_t total = 0;
  for (const model::TensorInfo& t : model.tensors()) total += t.numel;
  return total - tensor_numel(model, "bert.embeddings.word_embeddings.weight") -
         tensor_numel(model, "bert.embeddings.position_embeddings.weight") -
         tensor_numel(model, "bert.embeddings.token_type_embeddings.weight");
}

double train_step_flops(const model::Bert& model, int B, int T) {
  const double tokens = static_cast<double>(B) * T;
  const double attn = 12.0 * B * static_cast<double>(T) * T * model.config().hidden_size;
  return 6.0 * static_cast<double>(non_embedding_params(model)) * tokens + attn * model.config().num_hidden_layers;
}

}  // namespace strata::train
