// The L2L relay executor: one layer's slab on the device at a time (two slots, the next one prefetched), layer
// inputs stashed between forward and backward, the forward recomputed per micro-batch in the backward, and every
// layer's gradient handed to the eager param-server as soon as it is complete. The device layout is L2LPlan's.
#include "strata/train/l2l.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <vector>

#include "strata/core/error.h"
#include "strata/train/eps.h"
#include "strata/train/executor_internal.h"
#include "strata/train/l2l_plan.h"
#include "strata/train/l2l_rows.h"
#include "strata/train/mlm_decoder.h"

namespace strata::train {

namespace {

using Clock = std::chrono::steady_clock;

// The fraction of some background work's time (EPS updates, gradient reductions) that ran while the device
// computed.
class OverlapMeter {
 public:
  void computed(Clock::time_point begin, Clock::time_point end) { compute_.push_back({begin, end}); }
  // Accounts the work intervals finished so far and keeps the compute intervals of the last two steps (work can
  // spill into the next step's forward): `keep` intervals.
  template <typename Interval>
  void account(const std::vector<Interval>& work, std::size_t keep) {
    for (const Interval& u : work) {
      const double total = std::chrono::duration<double>(u.end - u.begin).count();
      double inside = 0.0;
      for (const auto& c : compute_) {
        const auto b = std::max(u.begin, c.begin), e = std::min(u.end, c.end);
        if (e > b) inside += std::chrono::duration<double>(e - b).count();
      }
      work_seconds_ += total;
      overlap_seconds_ += std::min(inside, total);
    }
    if (compute_.size() > keep) compute_.erase(compute_.begin(), compute_.end() - static_cast<std::ptrdiff_t>(keep));
  }
  double work_seconds() const { return work_seconds_; }
  double overlap() const { return work_seconds_ > 0 ? overlap_seconds_ / work_seconds_ : 0.0; }

 private:
  std::vector<EagerParamServer::Interval> compute_;
  double work_seconds_ = 0.0, overlap_seconds_ = 0.0;
};

class L2LExecutor final : public Executor {
 public:
  L2LExecutor(const model::Bert& model, backend::Backend& be, const ExecutorOptions& o)
      : model_(model),
        be_(be),
        opt_(o),
        eps_(model, be, EpsOptions{o.eps_threads, o.optim, o.device_dtype, o.group, o.shard_optimizer}),
        planner_(model, o),
        embeddings_(model, ranks_of(o) > 1),
        stashed_(planner_.initial_stashed()) {
    if (o.micro_batch < 0) bad_input("--micro-batch must be positive, given ", o.micro_batch);
    if (o.stash != Space::kStash && o.stash != Space::kDevice) bad_input("--stash: expected host or device");
    if (model.head() == model::Head::kMaskedLm) {
      // Sharded MLM runs once differed from unsharded ones in CI (a race not reproduced since): refused for now.
      if (o.shard_optimizer) bad_input("--shard-optimizer is not supported for masked-LM pre-training");
      mlm_ = std::make_unique<MlmDecoderStage>(model);
    }
  }

  std::string name() const override { return "l2l"; }
  const model::Bert& model() const override { return model_; }
  backend::Backend& backend() override { return be_; }
  std::int64_t steps_done() const override { return steps_; }
  std::int64_t updates_done() const override { return eps_.updates_done(); }

  std::size_t footprint(int B, int T, int b) const override { return planner_.plan(B, T, b, stashed_).device_bytes(); }

  int prepare(int B, int T) override {
    L2LPlan chosen = planner_.choose(be_, B, T);
    stashed_ = chosen.stashed;  // before the stash check: footprint() describes the choice the check refuses
    planner_.check_stash_budget(be_, chosen);
    allocate(std::move(chosen));
    return mb_;
  }

  StepStats step(const model::Batch& batch, double lr) override {
    check_labels(batch);
    if (batch.B != B_ || batch.T != T_) prepare(batch.B, batch.T);
    const auto t0 = Clock::now();
    StepStats st;
    st.step = steps_;
    st.lr = lr;
    st.tokens = static_cast<std::size_t>(batch.B) * batch.T;
    eps_.begin_step(lr);
    const model::Batch d = upload_step(batch);
    nn::Ctx ctx = base_ctx(true);
    const double loss_sum = forward_pass(d, ctx);
    backward_pass(d, ctx);  // hands each layer's gradient to the EPS as soon as it is complete
    bool applied = true;
    st.grad_norm = eps_.wait_grad_norm(&applied);
    st.updated = applied;
    finish_loss(st, loss_sum);
    ++steps_;
    const std::size_t keep = 4 * static_cast<std::size_t>(model_.num_layers());
    overlap_.account(eps_.take_update_intervals(), keep);
    if (opt_.group) reduce_overlap_.account(opt_.group->take_intervals(), keep);
    st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return st;
  }

  StepStats evaluate(const model::Batch& batch) override {
    check_labels(batch);
    if (batch.B != B_ || batch.T != T_) prepare(batch.B, batch.T);
    const auto t0 = Clock::now();
    StepStats st;
    st.step = steps_;
    st.tokens = static_cast<std::size_t>(batch.B) * batch.T;
    eps_.wait_all();
    const model::Batch d = upload_step(batch);
    nn::Ctx ctx = base_ctx(false);
    finish_loss(st, forward_pass(d, ctx));
    st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return st;
  }

  // Inference: layer-major over groups of one step's rows, inside the training footprint: layer boundaries
  // ping-pong between the first two stash boundaries, the head's pooled output goes to the layer-output buffer.
  void infer(const model::Batch& batch, float* logits, float* pooled) override {
    if (mlm_) bad_input("a masked-LM model has no classifier to infer with; evaluate() measures its loss");
    if (T_ != batch.T || B_ <= 0) prepare(opt_.micro_batch > 0 ? opt_.micro_batch : 1, batch.T);
    PaddedRows padded;
    eps_.wait_all();
    bufs_.slabs.invalidate();
    for (int g0 = 0; g0 < batch.B; g0 += B_) {  // groups of B_ rows, the last one padded
      infer_group(padded.take(batch, g0, B_), g0, batch.B, logits, pooled);
      bufs_.slabs.invalidate();
    }
  }

  void read_state(float* params, float* m, float* v) override { eps_.read_state(params, m, v); }
  void read_grads(float* grads) override { eps_.read_grads(grads); }
  void write_state(const float* params, const float* m, const float* v, std::int64_t steps_done,
                   std::int64_t updates_done) override {
    eps_.write_state(params, m, v, updates_done);
    steps_ = steps_done;
    bufs_.slabs.invalidate();
  }

  ExecutorStats stats() const override {
    ExecutorStats s;
    s.micro_batch = mb_;
    s.has_eps = true;
    s.eps_bytes = eps_.host_bytes();
    s.optimizer_bytes = eps_.optimizer_bytes();
    s.eager = eps_.eager();
    s.eps_update_seconds = overlap_.work_seconds();
    s.eps_overlap = overlap_.overlap();
    s.reduce_overlap = reduce_overlap_.overlap();
    s.recomputed_layers = static_cast<int>(std::count(stashed_.begin(), stashed_.end(), 0));
    return s;
  }

 private:
  // --- the plan and its buffers ---------------------------------------------------------------------------------
  void allocate(L2LPlan plan) {
    grad_copied_.wait();
    bufs_.slabs.invalidate();
    bufs_.saved.wait_moves();
    bufs_ = L2LBuffers();  // free the old layout before placing the new one
    plan_ = std::move(plan);
    plan_.lay_out(bufs_, AllocateBuffers{be_});
    B_ = plan_.B;
    T_ = plan_.T;
    mb_ = plan_.b;
  }

  bool bf16() const { return plan_.bf16; }
  const nn::Layer& layer(int l) const { return l == 0 ? embeddings_.layer() : model_.layer(l); }
  // Floats of layer l's slab on the device (layer 0: the current batch's rows).
  std::size_t floats(int l) const { return l == 0 ? embeddings_.slab_floats() : relay_slab_floats(model_, l); }

  nn::Ctx base_ctx(bool training) const {
    nn::Ctx ctx;
    ctx.be = &be_;
    ctx.seed = opt_.seed;
    ctx.step = steps_;
    ctx.training = training;
    ctx.ranks = ranks_of(opt_);
    ctx.loss_scale = mlm_ ? (predicted_ > 0 ? 1.0f / static_cast<float>(predicted_) : 0.0f)
                          : 1.0f / static_cast<float>(B_ * ctx.ranks);
    ctx.micro_batch_base = rank_of(opt_) * (B_ / mb_);
    return ctx;
  }

  void check_labels(const model::Batch& batch) const {
    if (mlm_ && !batch.token_labels) bad_input("a masked-LM step needs token labels");
    if (!mlm_ && !batch.labels) bad_input("a training step needs labels");
  }

  // The step's mean loss (a classifier's over the global batch, a masked-LM model's over its predicted positions).
  void finish_loss(StepStats& st, double loss_sum) const {
    if (!mlm_) {
      st.loss = global_mean_loss(opt_, loss_sum, B_);
      return;
    }
    double sums[3] = {loss_sum, static_cast<double>(mlm_result_.predicted), static_cast<double>(mlm_result_.correct)};
    if (opt_.group) opt_.group->all_reduce_sum(sums, 3);
    st.predicted = static_cast<std::int64_t>(sums[1]);
    st.correct = static_cast<std::int64_t>(sums[2]);
    st.loss = st.predicted > 0 ? sums[0] / sums[1] : 0.0;
  }

  // Micro-batch m's token arrays as layer l sees them: the embeddings read the remapped ids.
  nn::Activation tokens(const model::Batch& d, int l, int m) const {
    const model::Batch r = batch_rows(d, m * mb_, mb_);
    nn::Activation a;
    a.B = r.B;
    a.T = r.T;
    a.ids = l == 0 ? bufs_.token_ids.as<std::int32_t>() + static_cast<std::size_t>(m) * mb_ * T_ : r.ids;
    a.segs = r.segs;
    a.key_mask = r.key_mask;
    a.labels = r.labels;
    return a;
  }

  // Layer l's input (fetched from the stash) and output buffers for micro-batch m of a training step; sets the
  // Ctx's layer and micro-batch (the dropout key).
  std::pair<nn::Activation, nn::Activation> layer_io(const model::Batch& d, int l, int m, nn::Ctx& ctx) {
    nn::Activation in = tokens(d, l, m), out = in;
    if (l > 0) in.x = fetch_act(bufs_.stash.output(l - 1, m));
    if (l + 1 < model_.num_layers()) {
      out.x = bufs_.output.f32();
    } else {
      out.logits = bufs_.logits.f32();
      out.losses = bufs_.losses.f32();
    }
    ctx.layer_index = l;
    ctx.micro_batch = m;
    return {in, out};
  }

  // --- the step's stages ----------------------------------------------------------------------------------------
  // Forgets slabs the EPS may have updated since the last step, packs the batch's word rows, uploads the batch (and
  // a masked-LM batch's labels). Returns the device batch.
  model::Batch upload_step(const model::Batch& batch) {
    bufs_.slabs.invalidate();
    embeddings_.set_batch(be_, batch, bufs_.token_ids);
    if (!mlm_) {
      eps_.set_step_rows(embeddings_.rows());  // data parallel: layer 0 is summed over the rows some rank read
    } else {  // the tied decoder's gradient fills the whole table: layer 0 is summed whole
      double m = static_cast<double>(mlm_->set_labels(be_, bufs_.mlm, batch.token_labels, B_, T_, mb_));
      if (opt_.group) opt_.group->all_reduce_sum(&m, 1);  // the loss is a mean over every rank's positions
      predicted_ = static_cast<std::int64_t>(m);
    }
    return bufs_.batch.upload(be_, batch);
  }

  // Forward: for each layer, every micro-batch, each output stashed (the head's losses summed). Returns the sum of
  // the per-example losses.
  double forward_pass(const model::Batch& d, nn::Ctx& ctx) {
    const int L = model_.num_layers(), k = B_ / mb_;
    double loss_sum = 0.0;
    bufs_.saved.restart();
    for (int l = 0; l < L; ++l) {
      const float* w = load(l, l + 1 < L ? l + 1 : l);
      const auto c0 = Clock::now();
      if (mlm_ && l + 1 == L) loss_sum = mlm_forward(w, ctx);
      for (int m = 0; m < k && !(mlm_ && l + 1 == L); ++m, bufs_.saved.advance())
        forward_micro_batch(d, l, m, w, ctx, loss_sum);
      overlap_.computed(c0, Clock::now());
      reduce_overlap_.computed(c0, Clock::now());
    }
    bufs_.saved.wait_moves();
    return loss_sum;
  }

  // Layer l's forward for micro-batch m: its output to the stash (or the losses into loss_sum), its saved
  // activations to the stash when that layer skips the recompute; then the next layer's prefetch, if it is ready.
  void forward_micro_batch(const model::Batch& d, int l, int m, const float* w, nn::Ctx& ctx, double& loss_sum) {
    const bool last = l + 1 == model_.num_layers();
    auto [in, out] = layer_io(d, l, m, ctx);
    SavedActivations& saved = bufs_.saved.current();
    saved.moved.wait();
    layer(l).forward(ctx, w, in, out, saved.buf.data(), bufs_.workspace.data());
    if (!last) {
      store_act(bufs_.output.f32(), bufs_.stash.output(l, m));
    } else {
      losses_.resize(mb_);
      be_.copy_async(losses_.data(), Space::kHost, bufs_.losses.data(), Space::kDevice, mb_ * sizeof(float)).wait();
      for (float x : losses_) loss_sum += x;
    }
    if (plan_.stashed[l])
      saved.moved = be_.copy_async(bufs_.stash.saved_of(l, m), plan_.stash.space, saved.buf.data(), Space::kDevice,
                                   bufs_.stash.saved_bytes(l));
    if (!last) try_prefetch(l + 1);
  }

  // Backward: for each layer from the top, every micro-batch; then the layer's gradient goes to the EPS.
  void backward_pass(const model::Batch& d, nn::Ctx& ctx) {
    const int L = model_.num_layers(), k = B_ / mb_;
    bufs_.saved.restart();
    if (!mlm_) load_saved(L - 1, 0, bufs_.saved.current());
    for (int l = L - 1; l >= 0; --l) {
      const float* w = load(l, l > 0 ? l - 1 : -1);
      const auto c0 = Clock::now();
      grad_copied_.wait();  // the previous layer's gradient has left the buffer
      be_.zero(bufs_.grad.data(), Space::kDevice, floats(l) * sizeof(float));
      if (mlm_ && l + 1 == L) {
        mlm_backward(w, ctx);
        load_saved(L - 2, 0, bufs_.saved.current());
      }
      for (int m = 0; m < k && !(mlm_ && l + 1 == L); ++m, bufs_.saved.advance()) backward_micro_batch(d, l, m, w, ctx);
      overlap_.computed(c0, Clock::now());
      reduce_overlap_.computed(c0, Clock::now());
      hand_gradient_to_eps(l);
    }
  }

  // Layer l's backward for micro-batch m: its output gradient from the stash, its saved activations from the stash
  // (or its forward recomputed), and its input gradient back to the stash for the layer below.
  void backward_micro_batch(const model::Batch& d, int l, int m, const float* w, nn::Ctx& ctx) {
    const int L = model_.num_layers(), k = B_ / mb_;
    const std::size_t act = plan_.act_bytes;
    auto [in, out] = layer_io(d, l, m, ctx);
    const nn::Layer& lay = layer(l);
    if (l + 1 < L)
      be_.copy_async(bufs_.output_grad.data(), Space::kDevice, bufs_.stash.output_grad(m), plan_.stash.space, act)
          .wait();
    SavedActivations& saved = bufs_.saved.current();
    if (bufs_.saved.alternating()) {  // the next pair's saved activations, while this one computes
      if (m + 1 < k)
        load_saved(l, m + 1, bufs_.saved.following());
      else
        load_saved(l - 1, 0, bufs_.saved.following());
    }
    if (plan_.stashed[l])
      saved.moved.wait();
    else
      lay.forward(ctx, w, in, out, saved.buf.data(), bufs_.workspace.data());  // recompute
    if (l > 0) be_.zero(bufs_.input_grad.data(), Space::kDevice, act);
    lay.backward(ctx, w, in, saved.buf.data(), l + 1 < L ? bufs_.output_grad.f32() : nullptr,
                 l > 0 ? bufs_.input_grad.f32() : nullptr, bufs_.grad.f32(), bufs_.workspace.data());
    if (l > 0)
      be_.copy_async(bufs_.stash.output_grad(m), plan_.stash.space, bufs_.input_grad.data(), Space::kDevice, act)
          .wait();
  }

  // --- the masked-LM head (train/mlm_decoder.h) -------------------------------------------------------------------
  // Its forward over every micro-batch: the transform of each one's predicted rows, then the decoder by vocabulary
  // chunks. Returns the sum of the per-position losses.
  double mlm_forward(const float* w, nn::Ctx& ctx) {
    const int L = model_.num_layers(), k = B_ / mb_;
    bufs_.saved.wait_moves();
    ctx.layer_index = L - 1;
    for (int m = 0; m < k; ++m) {
      ctx.micro_batch = m;
      const float* x = fetch_act(bufs_.stash.output(L - 2, m));
      mlm_->transform_forward(ctx, w, x, m, bufs_.output.f32(), bufs_.mlm, bufs_.saved.buffer(0).buf.data());
    }
    mlm_result_ = mlm_->decode_forward(ctx, eps_, bufs_.mlm, plan_.elem());
    return mlm_result_.loss_sum;
  }

  // Its backward: the decoder by chunks (the word table's gradient straight into the EPS's layer-0 slab), then per
  // micro-batch the transform, whose input gradient goes to the stash for the last encoder layer.
  void mlm_backward(const float* w, nn::Ctx& ctx) {
    const int L = model_.num_layers(), k = B_ / mb_;
    bufs_.saved.wait_moves();
    ctx.layer_index = L - 1;
    mlm_->decode_backward(ctx, eps_, bufs_.mlm, plan_.elem());
    for (int m = 0; m < k; ++m) {
      ctx.micro_batch = m;
      const float* x = fetch_act(bufs_.stash.output(L - 2, m));
      be_.zero(bufs_.input_grad.data(), Space::kDevice, plan_.act_bytes);
      mlm_->transform_backward(ctx, w, x, m, bufs_.output.f32(), bufs_.output_grad.f32(), bufs_.input_grad.f32(),
                               bufs_.grad.f32(), bufs_.mlm, bufs_.saved.buffer(0).buf.data(), bufs_.workspace.data());
      be_.copy_async(bufs_.stash.output_grad(m), plan_.stash.space, bufs_.input_grad.data(), Space::kDevice,
                     plan_.act_bytes)
          .wait();
    }
  }

  // Queues layer l's saved activations for micro-batch m from the stash into `into`, if that layer's are stashed.
  void load_saved(int l, int m, SavedActivations& into) {
    if (l < 0 || !plan_.stashed[l]) return;
    into.moved.wait();
    into.moved = be_.copy_async(into.buf.data(), Space::kDevice, bufs_.stash.saved_of(l, m), plan_.stash.space,
                                bufs_.stash.saved_bytes(l));
  }

  // Layer l's gradient leaves the device for the EPS, which updates the layer as soon as the copy is done.
  void hand_gradient_to_eps(int l) {
    // The EPS reads a layer's gradient slab until that layer's update is done; the embeddings' update (rows first)
    // may still be running under this step's forward. Normally a no-op.
    eps_.wait_updated(l);
    grad_copied_ = l == 0 && mlm_ ? embeddings_.push_grad_onto_table(be_, eps_, bufs_.grad.f32())
                   : l == 0       ? embeddings_.push_grad(be_, eps_, bufs_.grad.f32())
                                  : be_.copy_async(eps_.grad_slab(l), Space::kHost, bufs_.grad.data(), Space::kDevice,
                                                   floats(l) * sizeof(float));
    eps_.push_grad(l, grad_copied_);
  }

  // --- inference ------------------------------------------------------------------------------------------------
  // One group of B_ rows (`host`, rows [g0, g0 + B_) of a batch of `rows`), layer by layer; the real rows' logits
  // and pooled outputs land in the caller's arrays.
  void infer_group(const model::Batch& host, int g0, int rows, float* logits, float* pooled) {
    const int L = model_.num_layers(), k = B_ / mb_;
    const std::size_t K = model_.config().num_labels, C = model_.config().hidden_size;
    std::vector<float> host_logits(mb_ * K), host_pooled(pooled ? mb_ * C : 0);
    const nn::Ctx ctx = base_ctx(false);
    const model::Batch d = bufs_.batch.upload(be_, host);
    embeddings_.set_batch(be_, host, bufs_.token_ids);
    for (int l = 0; l < L; ++l) {
      const float* w = load(l, l + 1 < L ? l + 1 : -1);  // layer 0 of the next group needs that group's rows
      for (int m = 0; m < k; ++m) {
        nn::Activation in = tokens(d, l, m), out = in;
        if (l > 0) in.x = fetch_act(bufs_.stash.output((l + 1) % 2, m));
        if (l + 1 < L) {
          out.x = bufs_.output.f32();
        } else {
          out.logits = bufs_.logits.f32();
          out.pooled = pooled ? bufs_.output.f32() : nullptr;
        }
        layer(l).forward(ctx, w, in, out, bufs_.saved.buffer(0).buf.data(), bufs_.workspace.data());
        if (l + 1 < L) {
          store_act(bufs_.output.f32(), bufs_.stash.output(l % 2, m));
          continue;
        }
        be_.copy_async(host_logits.data(), Space::kHost, bufs_.logits.data(), Space::kDevice, mb_ * K * sizeof(float))
            .wait();
        if (pooled)
          be_.copy_async(host_pooled.data(), Space::kHost, bufs_.output.data(), Space::kDevice, mb_ * C * sizeof(float))
              .wait();
        const int r0 = g0 + m * mb_, keep = std::min(mb_, rows - r0);
        if (keep <= 0) continue;
        if (logits) std::copy_n(host_logits.data(), keep * K, logits + static_cast<std::size_t>(r0) * K);
        if (pooled) std::copy_n(host_pooled.data(), keep * C, pooled + static_cast<std::size_t>(r0) * C);
      }
    }
  }

  // --- activations to and from the stash ------------------------------------------------------------------------
  // Device x (fp32) -> stash, through bf16 when asked. Blocks until the copy is done (x is reused next).
  void store_act(const float* x, void* to) {
    const std::size_t n = plan_.act_bytes / sizeof(float);
    if (bf16()) {
      be_.f32_to_bf16(bufs_.bf16_staging.as<std::uint16_t>(), x, n);
      be_.copy_async(to, plan_.stash.space, bufs_.bf16_staging.data(), Space::kDevice, n * sizeof(std::uint16_t))
          .wait();
    } else {
      be_.copy_async(to, plan_.stash.space, x, Space::kDevice, n * sizeof(float)).wait();
    }
  }
  // Stash -> the device input buffer (fp32).
  float* fetch_act(const void* from) {
    const std::size_t n = plan_.act_bytes / sizeof(float);
    if (bf16()) {
      be_.copy_async(bufs_.bf16_staging.data(), Space::kDevice, from, plan_.stash.space, n * sizeof(std::uint16_t))
          .wait();
      be_.bf16_to_f32(bufs_.input.f32(), bufs_.bf16_staging.as<std::uint16_t>(), n);
    } else {
      be_.copy_async(bufs_.input.data(), Space::kDevice, from, plan_.stash.space, n * sizeof(float)).wait();
    }
    return bufs_.input.f32();
  }

  // --- slabs: fetched from the EPS into the incoming slot, prefetched while the layer below (or above) runs --------
  // Queues layer l's slab from the EPS into `s` once the EPS has updated it.
  void issue(int l, DeviceSlab& s) {
    s.layer = l;
    if (l == 0) {  // the batch's word rows (packed) and the rest of the slab
      s.ready = embeddings_.fetch(be_, eps_, s.buf.data(), plan_.elem());
      return;
    }
    eps_.wait_updated(l);
    s.ready = be_.copy_async(s.buf.data(), Space::kDevice, eps_.fetch(l), Space::kHost, floats(l) * plan_.elem());
  }

  // Starts copying layer l into the incoming slot, if no slot holds it and the EPS is done with it.
  void try_prefetch(int l) {
    SlabSlots& slots = bufs_.slabs;
    if (l < 0 || slots.executing.layer == l || slots.incoming.layer == l || !eps_.updated(l)) return;
    slots.incoming.ready.wait();
    issue(l, slots.incoming);
  }

  // Makes layer l the executing layer and returns its fp32 parameters on the device; starts prefetching `next`.
  const float* load(int l, int next) {
    SlabSlots& slots = bufs_.slabs;
    if (slots.executing.layer != l) {
      if (slots.incoming.layer != l) {
        slots.incoming.ready.wait();
        issue(l, slots.incoming);
      }
      slots.incoming.ready.wait();
      if (bf16()) {  // convert into the fp32 working copy; the bf16 slot is free for the next prefetch
        be_.bf16_to_f32(slots.executing.buf.f32(), slots.incoming.buf.as<std::uint16_t>(), floats(l));
        slots.executing.layer = l;
        slots.incoming.layer = -1;
      } else {
        slots.promote_incoming();
      }
    }
    slots.executing.ready.wait();
    if (next != l) try_prefetch(next);
    return slots.executing.buf.f32();
  }

  const model::Bert& model_;
  backend::Backend& be_;
  ExecutorOptions opt_;
  EagerParamServer eps_;
  L2LPlanner planner_;
  CompactEmbeddings embeddings_;  // layer 0 over the current batch's word rows
  std::vector<char> stashed_;     // per layer: saved activations stashed (else recomputed); prepare() decides for auto
  L2LPlan plan_;                  // the layout bufs_ was allocated from
  L2LBuffers bufs_;
  backend::Event grad_copied_;            // the last gradient slab's copy to the EPS
  std::vector<float> losses_;             // (b) host copy of the head's per-example losses
  std::unique_ptr<MlmDecoderStage> mlm_;  // masked-LM models: the tied decoder, streamed by vocabulary chunks
  MlmPassResult mlm_result_;              // its last forward
  std::int64_t predicted_ = 0;            // positions the current step predicts
  int B_ = -1, T_ = -1, mb_ = 0;
  std::int64_t steps_ = 0;
  OverlapMeter overlap_;         // EPS updates vs compute
  OverlapMeter reduce_overlap_;  // data parallel: gradient reductions vs compute
};

}  // namespace

std::unique_ptr<Executor> make_l2l_executor(const model::Bert& model, backend::Backend& be,
                                            const ExecutorOptions& options) {
  return std::make_unique<L2LExecutor>(model, be, options);
}

}  // namespace strata::train
