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
#include "strata/train/executor_internal.h"
#include "strata/train/l2l.h"
#include "strata/train/optim.h"
#include "strata/train/slab_shards.h"

namespace strata::train {

std::size_t DeviceBatch::bytes(int B, int T) {
  DeviceBatch scratch;
  CountBytes count{Space::kDevice};
  scratch.lay_out(B, T, count);
  return count.total;
}

void DeviceBatch::release() {
  ids_.reset();
  segs_.reset();
  mask_.reset();
  labels_.reset();
  B_ = T_ = -1;
}

model::Batch DeviceBatch::upload(backend::Backend& be, const model::Batch& host) {
  const std::size_t n = static_cast<std::size_t>(host.B) * host.T;
  if (host.B != B_ || host.T != T_) {
    release();
    lay_out(host.B, host.T, AllocateBuffers{be});
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

model::Batch PaddedRows::take(const model::Batch& src, int r0, int n) {
  const std::size_t T = static_cast<std::size_t>(src.T);
  auto fill = [&](auto& dst, const auto* from) {
    dst.resize(static_cast<std::size_t>(n) * T);
    for (int r = 0; r < n; ++r)
      std::copy_n(from + static_cast<std::size_t>(r0 + r < src.B ? r0 + r : r0) * T, T, dst.data() + r * T);
    return dst.data();
  };
  model::Batch b;
  b.B = n;
  b.T = src.T;
  b.ids = fill(ids_, src.ids);
  b.segs = src.segs ? fill(segs_, src.segs) : nullptr;
  b.key_mask = src.key_mask ? fill(mask_, src.key_mask) : nullptr;
  return b;
}

model::Batch batch_rows(const model::Batch& b, int r0, int n) {
  const std::size_t t0 = static_cast<std::size_t>(r0) * b.T;
  model::Batch out = b;
  out.B = n;
  out.ids = b.ids + t0;
  out.segs = b.segs ? b.segs + t0 : nullptr;
  out.key_mask = b.key_mask ? b.key_mask + t0 : nullptr;
  out.labels = b.labels ? b.labels + r0 : nullptr;
  return out;
}

StepStats Executor::evaluate(const model::Batch& /*batch*/) {
  bad_input("the ", name(), " executor has no loss-only evaluation");
}

double global_mean_loss(const ExecutorOptions& o, double loss_sum, int B) {
  double v[2] = {loss_sum, static_cast<double>(B)};
  if (ranks_of(o) > 1) o.group->all_reduce_sum(v, 2);
  return v[0] / v[1];
}

std::string divisors_of(int n) {
  std::vector<int> low, high;  // d <= sqrt(n) and n / d, so a batch read from a file cannot make this O(n)
  for (int d = 1; d <= n / d; ++d)
    if (n % d == 0) {
      low.push_back(d);
      if (d != n / d) high.push_back(n / d);
    }
  low.insert(low.end(), high.rbegin(), high.rend());
  std::string s;
  for (const int d : low) s += (s.empty() ? "" : ", ") + std::to_string(d);
  return s;
}

Recompute parse_recompute(const std::string& text, const char* what) {
  if (text == "auto") return Recompute::kAuto;
  if (text == "on") return Recompute::kOn;
  if (text == "off") return Recompute::kOff;
  bad_input(what, ": expected auto, on or off, found '", text, "'");
}

const char* recompute_name(Recompute r) {
  switch (r) {
    case Recompute::kAuto:
      return "auto";
    case Recompute::kOn:
      return "on";
    case Recompute::kOff:
      return "off";
  }
  return "?";
}

int fitting_micro_batch(backend::Backend& be, int requested, int B, const std::function<std::size_t(int)>& footprint) {
  const std::size_t budget = be.memory().device().budget();
  auto fits = [&](int b) { return budget == 0 || footprint(b) <= budget; };
  if (requested > 0) return B % requested == 0 && fits(requested) ? requested : 0;
  return largest_fitting_divisor(B, fits);
}

int plan_micro_batch(backend::Backend& be, int requested, int B, int T,
                     const std::function<std::size_t(int)>& footprint, const std::string& who,
                     const std::string& parts) {
  if (requested > 0 && B % requested != 0)
    bad_input("--micro-batch ", requested, " does not divide the batch of ", B, "; values that do: ", divisors_of(B));
  const int b = fitting_micro_batch(be, requested, B, footprint);
  if (b > 0) return b;
  const std::size_t budget = be.memory().device().budget();
  const int smallest = requested > 0 ? requested : 1;
  const std::size_t need = footprint(smallest);
  resource_error("the ", who, " executor needs ", format_bytes(need), " of device memory for batch ", B, " x ", T,
                 " with micro-batch ", smallest, " (", parts, "), but --device-memory is ", format_bytes(budget),
                 "; the smallest budget that works is ", need, " bytes (", format_bytes(need), ")");
}

int largest_fitting_divisor(int B, const std::function<bool(int)>& fits) {
  for (int b = B; b >= 1; --b)
    if (B % b == 0 && fits(b)) return b;
  return 0;
}

namespace {

std::size_t tensor_numel(const model::Bert& m, const char* name) {
  const model::TensorInfo* t = m.find(name);
  return t ? t->numel : 0;
}

// The model state on the baseline's device, allocated once for any step shape.
struct BaselineState {
  Buffer params;       // (total floats) f32
  Buffer grads, m, v;  // (total floats) f32 each: gradients and the optimizer's two moments (training only)

  // The parameters and, for training, the gradients and both moments of a model of `floats` floats, as a plan's
  // lay_out() walks them.
  // moment_floats: the moments' size (the model's floats, or this process's chunks with --shard-optimizer).
  template <class Place>
  void lay_out(std::size_t floats, std::size_t moment_floats, bool training, Place&& place) {
    const std::size_t bytes = floats * sizeof(float);
    place(params, Space::kDevice, bytes, "model parameters");
    if (!training) return;
    place(grads, Space::kDevice, bytes, "parameter gradients");
    place(m, Space::kDevice, moment_floats * sizeof(float), "optimizer first moments");
    place(v, Space::kDevice, moment_floats * sizeof(float), "optimizer second moments");
  }
};

// The baseline's device plan for steps of B x T in micro-batches of b: the model state, the runner's activations
// (every layer's saved activations and outputs for one micro-batch, allocated by model::FullModelRunner on its
// first run) and the batch's token arrays (B rows; inference-only: chunks of one micro-batch).
struct BaselinePlan {
  std::size_t state_floats = 0;   // the model's total floats
  std::size_t moment_floats = 0;  // the optimizer moments' (per process)
  bool training = true;
  std::size_t runner_bytes = 0;  // FullModelRunner::device_bytes(model, b, T)
  int batch_rows = 0, T = 0;

  std::size_t device_bytes() const {
    BaselineState scratch;
    CountBytes count{Space::kDevice};
    scratch.lay_out(state_floats, moment_floats, training, count);
    return count.total + runner_bytes + DeviceBatch::bytes(batch_rows, T);
  }
};

class BaselineExecutor final : public Executor {
 public:
  BaselineExecutor(const model::Bert& model, backend::Backend& be, const ExecutorOptions& o)
      : model_(model), be_(be), opt_(o), runner_(model, be), shards_(model, o.shard_optimizer ? o.group : nullptr) {
    if (o.micro_batch < 0) bad_input("--micro-batch must be positive, given ", o.micro_batch);
    validate(o.optim);
  }

  std::string name() const override { return "baseline"; }
  const model::Bert& model() const override { return model_; }
  backend::Backend& backend() override { return be_; }
  std::int64_t steps_done() const override { return steps_; }
  std::int64_t updates_done() const override { return updates_; }

  BaselinePlan plan(int B, int T, int b) const {
    return BaselinePlan{model_.total_floats(),       shards_.moment_floats(),
                        !opt_.inference_only,        model::FullModelRunner::device_bytes(model_, b, T),
                        opt_.inference_only ? b : B, T};
  }
  std::size_t footprint(int B, int T, int b) const override { return plan(B, T, b).device_bytes(); }

  int prepare(int B, int T) override {
    const int b = plan_micro_batch(
        be_, opt_.micro_batch, B, T, [&](int mb) { return footprint(B, T, mb); }, "baseline",
        cat(format_bytes(4 * state_bytes()), " of it parameters, gradients and optimizer state"));
    ensure_state();
    mb_ = b;
    B_ = B;
    T_ = T;
    return b;
  }

  StepStats step(const model::Batch& batch, double lr) override {
    if (opt_.inference_only) internal_error("step() on an inference-only executor");
    if (!batch.labels) bad_input("a training step needs labels");
    if (batch.B != B_ || batch.T != T_) prepare(batch.B, batch.T);
    const auto t0 = std::chrono::steady_clock::now();
    StepStats st;
    st.step = steps_;
    st.lr = lr;
    st.tokens = static_cast<std::size_t>(batch.B) * batch.T;
    const model::Batch d = device_batch_.upload(be_, batch);
    be_.zero(state_.grads.data(), Space::kDevice, state_.grads.bytes());
    nn::Ctx ctx;
    ctx.be = &be_;
    ctx.seed = opt_.seed;
    ctx.step = steps_;
    ctx.training = true;
    ctx.ranks = ranks_of(opt_);
    ctx.micro_batch_base = rank_of(opt_) * (batch.B / mb_);
    const double local_mean = runner_.run(state_.params.f32(), state_.grads.f32(), d, ctx, batch.B / mb_);
    st.loss = global_mean_loss(opt_, local_mean * batch.B, batch.B);
    // Data parallel: the baseline sums the whole gradient over the group after its backward (the device memory of
    // the CPU backend is host memory the group reads in place); sharded, each process sums and updates its chunks.
    if (shards_.active()) {
      sharded_clip_and_update(st, lr);
    } else {
      if (ranks_of(opt_) > 1) opt_.group->all_reduce_sum(state_.grads.f32(), model_.total_floats());
      clip_and_update(st, lr);
    }
    ++steps_;
    be_.synchronize();
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return st;
  }

  void infer(const model::Batch& batch, float* logits, float* pooled) override {
    ensure_state();
    const int mb = opt_.micro_batch > 0 ? opt_.micro_batch : std::max(1, mb_);
    const std::size_t K = model_.config().num_labels, C = model_.config().hidden_size;
    nn::Ctx ctx;
    ctx.be = &be_;
    ctx.training = false;
    // Chunks of exactly one micro-batch (the work buffers keep their shape), the last one padded.
    PaddedRows padded;
    for (int r0 = 0; r0 < batch.B; r0 += mb) {
      const int rows = std::min(mb, batch.B - r0);
      const model::Batch chunk = padded.take(batch, r0, mb);
      const model::Batch d = device_batch_.upload(be_, chunk);  // reuses the step's token memory
      runner_.run(state_.params.f32(), nullptr, d, ctx, 1, pooled != nullptr);
      if (logits) std::copy_n(runner_.logits().data(), rows * K, logits + static_cast<std::size_t>(r0) * K);
      if (pooled) std::copy_n(runner_.pooled().data(), rows * C, pooled + static_cast<std::size_t>(r0) * C);
    }
  }

  void read_state(float* params, float* m, float* v) override {
    ensure_state();
    get(params, state_.params);
    get_moments(m, state_.m);
    get_moments(v, state_.v);
  }
  void read_grads(float* grads) override {
    ensure_state();
    get(grads, state_.grads);
  }

  void write_state(const float* params, const float* m, const float* v, std::int64_t steps_done,
                   std::int64_t updates_done) override {
    ensure_state();
    const std::size_t bytes = state_bytes();
    auto put = [&](Buffer& dst, const float* src) {
      if (dst.empty()) return;
      if (!src) {
        be_.zero(dst.data(), Space::kDevice, bytes);
        return;
      }
      be_.copy_async(dst.data(), Space::kDevice, src, Space::kHost, bytes).wait();
    };
    put(state_.params, params);
    if (shards_.active()) {
      if (!state_.m.empty()) shards_.scatter(m, state_.m.f32());  // CPU device memory: host-addressable
      if (!state_.v.empty()) shards_.scatter(v, state_.v.f32());
    } else {
      put(state_.m, m);
      put(state_.v, v);
    }
    steps_ = steps_done;
    updates_ = updates_done;
  }

  ExecutorStats stats() const override {
    ExecutorStats s;
    s.micro_batch = mb_;
    s.optimizer_bytes = state_.m.bytes() + state_.v.bytes();
    return s;
  }

 private:
  std::size_t state_bytes() const { return model_.total_floats() * sizeof(float); }

  // The gradient's global norm, then (when finite) the clipped optimizer update of every layer slab: backend
  // operations, so they run where the slabs live.
  void clip_and_update(StepStats& st, double lr) {
    const int L = model_.num_layers();
    float *params = state_.params.f32(), *grads = state_.grads.f32(), *m = state_.m.f32(), *v = state_.v.f32();
    std::vector<GradSpan> spans;
    for (int i = 0; i < L; ++i) spans.emplace_back(grads + model_.slab_offset(i), model_.slab_floats(i));
    st.grad_norm = be_.global_grad_norm(spans);
    if (!std::isfinite(st.grad_norm) || !std::isfinite(st.loss)) {
      st.updated = false;
      return;
    }
    const float scale = clip_factor(st.grad_norm, opt_.optim.clip);
    ++updates_;
    for (int i = 0; i < L; ++i) {
      const std::size_t off = model_.slab_offset(i);
      optimizer_step(be_, opt_.optim, params + off, grads + off, m + off, v + off, model_.slab_floats(i), lr, updates_,
                     scale);
    }
  }

  // --shard-optimizer: reduce-scatter every slab's gradient, the norm from every process's share, this process's
  // chunks updated, the parameters all-gathered. (The CPU backend's device memory is host memory the group uses in
  // place; a GPU backend would stage through pinned memory.)
  void sharded_clip_and_update(StepStats& st, double lr) {
    const int L = model_.num_layers();
    float *params = state_.params.f32(), *grads = state_.grads.f32(), *m = state_.m.f32(), *v = state_.v.f32();
    std::vector<dist::Request> reqs;
    for (int i = 0; i < L; ++i)
      reqs.push_back(opt_.group->reduce_scatter_sum_async(grads + model_.slab_offset(i), model_.slab_floats(i)));
    double total = 0.0;
    for (int i = 0; i < L; ++i) {
      reqs[i].wait();
      total += be_.sum_squares(grads + model_.slab_offset(i) + shards_.begin(i), shards_.floats(i));
    }
    opt_.group->all_reduce_sum(&total, 1);
    st.grad_norm = std::sqrt(total);
    if (!std::isfinite(st.grad_norm) || !std::isfinite(st.loss)) {
      st.updated = false;
      return;
    }
    const float scale = clip_factor(st.grad_norm, opt_.optim.clip);
    ++updates_;
    reqs.clear();
    for (int i = 0; i < L; ++i) {
      const std::size_t off = model_.slab_offset(i) + shards_.begin(i), mo = shards_.moment_offset(i);
      optimizer_step(be_, opt_.optim, params + off, grads + off, m + mo, v + mo, shards_.floats(i), lr, updates_, scale,
                     nullptr, [this](std::span<double> sq) { opt_.group->all_reduce_sum(sq.data(), sq.size()); });
      reqs.push_back(opt_.group->all_gather_async(params + model_.slab_offset(i), model_.slab_floats(i)));
    }
    for (const dist::Request& r : reqs) r.wait();
  }

  void get_moments(float* dst, const Buffer& src) {
    if (dst && shards_.active() && !src.empty()) return shards_.gather(*opt_.group, src.f32(), dst);
    get(dst, src);
  }

  // The model state on the device (zeroed), allocated once.
  void ensure_state() {
    if (!state_.params.empty()) return;
    state_.lay_out(model_.total_floats(), shards_.moment_floats(), !opt_.inference_only, AllocateBuffers{be_});
    for (Buffer* b : {&state_.params, &state_.grads, &state_.m, &state_.v})
      if (!b->empty()) be_.zero(b->data(), Space::kDevice, b->bytes());
  }

  void get(float* dst, const Buffer& src) {
    if (!dst) return;
    if (src.empty()) {
      std::memset(dst, 0, state_bytes());
      return;
    }
    be_.copy_async(dst, Space::kHost, src.data(), Space::kDevice, state_bytes()).wait();
  }

  const model::Bert& model_;
  backend::Backend& be_;
  ExecutorOptions opt_;
  model::FullModelRunner runner_;
  SlabShards shards_;  // --shard-optimizer: this process's chunks (inactive otherwise)
  BaselineState state_;
  DeviceBatch device_batch_;
  int mb_ = 0, B_ = -1, T_ = -1;
  std::int64_t steps_ = 0, updates_ = 0;
};

}  // namespace

std::unique_ptr<Executor> make_executor(const std::string& name, const model::Bert& model, backend::Backend& be,
                                        const ExecutorOptions& options) {
  if (name == "baseline" && model.head() == model::Head::kMaskedLm)
    bad_input("--executor baseline trains classifiers; masked-LM pre-training with every layer resident is "
              "`strata pretrain --executor baseline`");
  if (name == "baseline") return std::make_unique<BaselineExecutor>(model, be, options);
  if (name == "l2l") return make_l2l_executor(model, be, options);
  bad_input("--executor: expected baseline or l2l, found '", name, "'");
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
