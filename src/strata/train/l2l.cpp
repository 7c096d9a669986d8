// The L2L relay executor: one layer's slab on the device at a time (two slots, the next one prefetched), layer
// inputs stashed between forward and backward, the forward recomputed per micro-batch in the backward, and every
// layer's gradient handed to the eager param-server as soon as it is complete.
#include "strata/train/l2l.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "strata/core/error.h"
#include "strata/nn/embedding_layer.h"
#include "strata/train/eps.h"
#include "strata/train/executor_internal.h"

namespace strata::train {

namespace {

using Clock = std::chrono::steady_clock;

class L2LExecutor final : public Executor {
 public:
  L2LExecutor(const model::Bert& model, backend::Backend& be, const ExecutorOptions& o)
      : model_(model),
        be_(be),
        opt_(o),
        eps_(model, be, EpsOptions{o.eps_threads, o.optim, o.device_dtype}),
        stashed_(model.num_layers(), o.recompute == Recompute::kOff) {
    if (o.micro_batch < 0) bad_input("--micro-batch must be positive, given ", o.micro_batch);
    if (o.stash != Space::kStash && o.stash != Space::kDevice) bad_input("--stash: expected host or device");
    table_rows_ = static_cast<std::size_t>(model.embeddings().config().vocab);
    row_floats_ = static_cast<std::size_t>(model.embeddings().config().hidden);
    rest_floats_ = model.slab_floats(0) - model.embeddings().word_table_floats();
  }

  std::string name() const override { return "l2l"; }
  const model::Bert& model() const override { return model_; }
  backend::Backend& backend() override { return be_; }
  std::int64_t steps_done() const override { return steps_; }
  std::int64_t updates_done() const override { return eps_.updates_done(); }

  // Saved-activation and workspace bytes of the largest layer for micro-batches of b x T (one layer at a time).
  std::pair<std::size_t, std::size_t> layer_scratch(int b, int T) const {
    std::size_t saved = 0, ws = 0;
    for (int l = 0; l < model_.num_layers(); ++l) {
      saved = std::max(saved, model_.layer(l).saved_bytes(b, T));
      ws = std::max(ws, model_.layer(l).workspace_bytes(b, T));
    }
    return {saved, ws};
  }

  // --- the embeddings on the device: only the word-table rows a batch reads, packed, its token ids remapped -----
  // Floats of layer l's slab on the device with `rows` word-table rows (layer 0), else the model's slab.
  std::size_t device_floats(int l, std::size_t rows) const {
    return l == 0 ? rows * row_floats_ + rest_floats_ : model_.slab_floats(l);
  }
  std::size_t floats(int l) const { return device_floats(l, rows_.size()); }  // of the current batch
  // The largest slab on the device for steps of B x T (at most min(V, B*T) word rows).
  std::size_t max_slab_floats(int B, int T) const {
    std::size_t best = device_floats(0, std::min(table_rows_, static_cast<std::size_t>(B) * T));
    for (int l = 1; l < model_.num_layers(); ++l) best = std::max(best, model_.slab_floats(l));
    return best;
  }
  std::size_t elem() const { return bf16() ? sizeof(std::uint16_t) : sizeof(float); }
  std::size_t max_fetch_bytes(int B, int T) const { return max_slab_floats(B, T) * elem(); }
  const nn::Layer& layer(int l) const { return l == 0 ? *compact_ : model_.layer(l); }

  // The batch's distinct token ids (sorted), its ids remapped to them (on the device), and the embeddings layer over
  // that packed table (the padding row remapped, or none). Checks the tokens as the embeddings' forward does.
  void set_rows(const model::Batch& host) {
    model_.embeddings().check_tokens(host.ids, host.segs, host.B, host.T);
    std::vector<std::int32_t> index(table_rows_, -1);  // -1 absent; 0 marks present until numbered below
    const std::size_t n = static_cast<std::size_t>(host.B) * host.T;
    for (std::size_t i = 0; i < n; ++i) index[host.ids[i]] = 0;
    rows_.clear();
    for (std::size_t r = 0; r < table_rows_; ++r)
      if (index[r] == 0) {
        index[r] = static_cast<std::int32_t>(rows_.size());
        rows_.push_back(static_cast<std::int32_t>(r));
      }
    host_cids_.resize(n);
    for (std::size_t i = 0; i < n; ++i) host_cids_[i] = index[host.ids[i]];
    be_.copy_async(cids_.data(), Space::kDevice, host_cids_.data(), Space::kHost, n * sizeof(std::int32_t)).wait();
    nn::EmbeddingConfig cfg = model_.embeddings().config();
    cfg.vocab = static_cast<int>(rows_.size());
    cfg.pad_token_id = cfg.pad_token_id >= 0 ? index[cfg.pad_token_id] : -1;
    compact_ = std::make_unique<nn::EmbeddingLayer>(cfg);
  }

  // Layer l's gradient (on the device) into the EPS's slab: layer 0's packed word rows scattered into the full table
  // gradient, whose rows of the previous batch are zeroed first (the others are zero already). Returns the event of
  // the last copy.
  backend::Event push_grad_copy(int l) {
    float* g = eps_.grad_slab(l);
    if (l != 0)
      return be_.copy_async(g, Space::kHost, grad_.data(), Space::kDevice, floats(l) * sizeof(float));
    for (const std::int32_t r : grad_rows_) std::memset(g + r * row_floats_, 0, row_floats_ * sizeof(float));
    grad_rows_ = rows_;
    be_.scatter_rows_async(g, Space::kHost, grad_.data(), Space::kDevice, rows_, row_floats_ * sizeof(float));
    return be_.copy_async(g + table_rows_ * row_floats_, Space::kHost, grad_.f32() + rows_.size() * row_floats_,
                          Space::kDevice, rest_floats_ * sizeof(float));
  }

  // --- memory plan ---------------------------------------------------------------------------------------------
  std::size_t act_bytes(int b, int T) const {
    return static_cast<std::size_t>(b) * T * model_.config().hidden_size * sizeof(float);
  }
  std::size_t stash_elem() const { return bf16() ? sizeof(std::uint16_t) : sizeof(float); }
  // Layer-boundary activations of the whole batch (outputs of layers 0..L-2) and the output-gradient stash.
  std::size_t stash_bytes(int B, int T) const {
    const std::size_t rows = static_cast<std::size_t>(B) * T * model_.config().hidden_size;
    return (model_.num_layers() - 1) * rows * stash_elem() + rows * sizeof(float);
  }
  // The saved activations of layer l for every micro-batch of b (what stashing them instead of recomputing costs).
  std::size_t layer_saved_stash(int l, int B, int T, int b) const {
    return model_.layer(l).saved_bytes(b, T) * static_cast<std::size_t>(B / b);
  }
  // Of the layers whose saved activations are stashed.
  std::size_t saved_stash_bytes(int B, int T, int b) const {
    std::size_t total = 0;
    for (int l = 0; l < model_.num_layers() && b > 0; ++l)
      if (stashed_[l]) total += layer_saved_stash(l, B, T, b);
    return total;
  }
  bool any_stashed() const { return std::find(stashed_.begin(), stashed_.end(), 1) != stashed_.end(); }
  int recomputed_layers() const { return static_cast<int>(std::count(stashed_.begin(), stashed_.end(), 0)); }
  std::size_t stash_total(int B, int T, int b) const { return stash_bytes(B, T) + saved_stash_bytes(B, T, b); }
  // What the host stash may hold: the stash space's budget, else half the host memory available now.
  std::size_t stash_limit() const {
    const std::size_t budget = be_.memory().stash().budget();
    return budget > 0 ? budget : available_host_memory() / 2;
  }
  std::size_t footprint(int B, int T, int b) const override {
    const auto [saved, ws] = layer_scratch(b, T);
    const std::size_t K = model_.config().num_labels;
    const std::size_t slab = max_slab_floats(B, T);
    std::size_t total = num_slots() * slab * elem() + slab * sizeof(float) /* gradient slab */ +
                        (bf16() ? slab * sizeof(float) : 0) /* fp32 working copy */ +
                        static_cast<std::size_t>(B) * T * sizeof(std::int32_t) /* remapped token ids */ +
                        4 * act_bytes(b, T) + (bf16() ? act_bytes(b, T) / 2 : 0) /* conversion buffer */ + saved +
                        ws + b * K * sizeof(float) + b * sizeof(float) + DeviceBatch::bytes(B, T) +
                        (any_stashed() ? saved : 0) /* second saved buffer */;
    if (opt_.stash == Space::kDevice) total += stash_total(B, T, b);
    return total;
  }

  int prepare(int B, int T) override {
    const bool host_stash = opt_.stash != Space::kDevice;
    const int L = model_.num_layers();
    auto plan = [&] {  // the micro-batch the device budget allows with the current stashed_, 0: none
      return fitting_micro_batch(be_, opt_.micro_batch, B, [&](int mb) { return footprint(B, T, mb); });
    };
    int b = 0;
    stashed_.assign(L, opt_.recompute == Recompute::kOff);
    if (opt_.recompute == Recompute::kAuto) {
      // Stash the saved activations of as many layers as fit (encoder layers first: the most compute saved per
      // byte), at the micro-batch that recomputing everything would get; recompute the others.
      const int on = plan();
      stashed_.assign(L, 1);
      const int off = plan();
      stashed_.assign(L, 0);
      if (on > 0 && off == on) {
        const std::size_t limit = stash_limit(), outputs = stash_bytes(B, T);
        std::size_t room = host_stash && limit > outputs ? limit - outputs : 0;
        for (const bool encoders : {true, false})
          for (int l = 0; l < L; ++l) {
            if (stashed_[l] || (model_.layer(l).kind() == "encoder") != encoders) continue;
            const std::size_t bytes = layer_saved_stash(l, B, T, on);
            stashed_[l] = 1;  // for plan(): with --stash device the stash is part of the device footprint
            if (host_stash ? bytes > room : plan() != on) {
              stashed_[l] = 0;
              continue;
            }
            if (host_stash) room -= bytes;
          }
        b = on;
      }
    }
    if (b == 0)
      b = plan_micro_batch(
          be_, opt_.micro_batch, B, T, [&](int mb) { return footprint(B, T, mb); }, "L2L",
          cat(bf16() ? "a bf16 slot and an fp32 working copy" : "two slots", " of the largest layer (",
              format_bytes(max_fetch_bytes(B, T)), " each), its gradient, one micro-batch's activations",
              opt_.stash == Space::kDevice ? ", the stash" : ""));
    const std::size_t stash_budget = be_.memory().stash().budget();
    if (host_stash && stash_budget > 0 && stash_total(B, T, b) > stash_budget) {
      const std::size_t need = stash_total(B, T, b);
      resource_error("the L2L stash needs ", format_bytes(need), " of host memory for batch ", B, " x ", T,
                     any_stashed() ? " (every layer's saved activations; --recompute on needs less)"
                                   : " (every layer's output and one layer's output gradient)",
                     ", but --stash-memory is ", format_bytes(stash_budget), "; the smallest budget that works is ",
                     need, " bytes (", format_bytes(need), ")");
    }
    allocate(B, T, b);
    return b;
  }

  // --- training step --------------------------------------------------------------------------------------------
  StepStats step(const model::Batch& batch, double lr) override {
    if (!batch.labels) bad_input("a training step needs labels");
    if (batch.B != B_ || batch.T != T_) prepare(batch.B, batch.T);
    const auto t0 = Clock::now();
    StepStats st;
    st.step = steps_;
    st.lr = lr;
    st.tokens = static_cast<std::size_t>(batch.B) * batch.T;
    const int L = model_.num_layers(), k = B_ / mb_;
    eps_.begin_step(lr);
    invalidate_slots();  // the EPS may have updated any layer since the last step
    set_rows(batch);
    const model::Batch d = device_batch_.upload(be_, batch);
    nn::Ctx ctx = base_ctx(true);
    double loss_sum = 0.0;
    std::vector<float> losses(mb_);

    // When any layer's saved activations are stashed, consecutive (layer, micro-batch) pairs alternate between two
    // device buffers, so copying one to (or from) the stash overlaps the next one's compute. Small copies that the
    // next call waits for are queued before the big ones (one copy stream, first in first out).
    const bool two = any_stashed();
    int c = 0;
    for (int l = 0; l < L; ++l) {  // forward
      const float* w = load(l, l + 1 < L ? l + 1 : l);
      const auto c0 = Clock::now();
      for (int m = 0; m < k; ++m, ++c) {
        auto [in, out] = layer_io(d, l, m, ctx);
        const int i = two ? c % 2 : 0;
        saved_ev_[i].wait();
        layer(l).forward(ctx, w, in, out, saved_buf(i), work_.data());
        if (l + 1 < L) {
          store_act(x_out_.f32(), stash_act(l, m));
        } else {
          be_.copy_async(losses.data(), Space::kHost, losses_.data(), Space::kDevice, mb_ * sizeof(float)).wait();
          for (float x : losses) loss_sum += x;
        }
        if (stashed_[l])
          saved_ev_[i] = be_.copy_async(saved_slot(l, m), opt_.stash, saved_buf(i), Space::kDevice, saved_size(l));
        if (l + 1 < L) try_prefetch(l + 1);
      }
      compute_.push_back({c0, Clock::now()});
    }
    for (backend::Event& e : saved_ev_) e.wait();
    auto load_saved = [&](int l, int m, int i) {  // into buffer i, if layer l's are stashed
      if (l < 0 || !stashed_[l]) return;
      saved_ev_[i].wait();
      saved_ev_[i] = be_.copy_async(saved_buf(i), Space::kDevice, saved_slot(l, m), opt_.stash, saved_size(l));
    };
    c = 0;
    load_saved(L - 1, 0, 0);

    for (int l = L - 1; l >= 0; --l) {  // backward
      const float* w = load(l, l > 0 ? l - 1 : -1);
      const auto c0 = Clock::now();
      grad_copied_.wait();  // the previous layer's gradient has left the buffer
      be_.zero(grad_.data(), Space::kDevice, floats(l) * sizeof(float));
      for (int m = 0; m < k; ++m, ++c) {
        auto [in, out] = layer_io(d, l, m, ctx);
        const nn::Layer& lay = layer(l);
        if (l + 1 < L)
          be_.copy_async(dout_.data(), Space::kDevice, stash_grad(m), opt_.stash, act_bytes(mb_, T_)).wait();
        const int i = two ? c % 2 : 0;
        if (two) {  // the next pair's saved activations, while this one computes
          if (m + 1 < k) load_saved(l, m + 1, i ^ 1);
          else load_saved(l - 1, 0, i ^ 1);
        }
        if (stashed_[l]) saved_ev_[i].wait();
        else lay.forward(ctx, w, in, out, saved_buf(i), work_.data());  // recompute
        if (l > 0) be_.zero(din_.data(), Space::kDevice, act_bytes(mb_, T_));
        lay.backward(ctx, w, in, saved_buf(i), l + 1 < L ? dout_.f32() : nullptr, l > 0 ? din_.f32() : nullptr,
                       grad_.f32(), work_.data());
        if (l > 0)
          be_.copy_async(stash_grad(m), opt_.stash, din_.data(), Space::kDevice, act_bytes(mb_, T_)).wait();
      }
      compute_.push_back({c0, Clock::now()});
      // The EPS reads a layer's gradient slab until that layer's update is done; the embeddings' update (rows
      // first) may still be running under this step's forward. Normally a no-op.
      eps_.wait_updated(l);
      grad_copied_ = push_grad_copy(l);      eps_.push_grad(l, grad_copied_);
    }
    bool applied = true;
    st.grad_norm = eps_.wait_grad_norm(&applied);
    st.updated = applied;
    st.loss = loss_sum / B_;
    ++steps_;
    account_overlap();
    st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    return st;
  }

  // --- inference: layer-major over groups of one step's rows, inside the training footprint: layer boundaries
  // ping-pong between the first two stash boundaries, the head's pooled output goes to the layer-output buffer -----
  void infer(const model::Batch& batch, float* logits, float* pooled) override {
    if (T_ != batch.T || B_ <= 0) prepare(opt_.micro_batch > 0 ? opt_.micro_batch : 1, batch.T);
    const int L = model_.num_layers(), k = B_ / mb_;
    const std::size_t K = model_.config().num_labels, C = model_.config().hidden_size;
    std::vector<float> host_logits(mb_ * K), host_pooled(pooled ? mb_ * C : 0);
    PaddedRows padded;
    eps_.wait_all();
    invalidate_slots();
    const nn::Ctx ctx = base_ctx(false);
    for (int g0 = 0; g0 < batch.B; g0 += B_) {  // groups of B_ rows, the last one padded
      const model::Batch host = padded.take(batch, g0, B_);
      const model::Batch d = device_batch_.upload(be_, host);
      set_rows(host);
      for (int l = 0; l < L; ++l) {
        const float* w = load(l, l + 1 < L ? l + 1 : -1);  // layer 0 of the next group needs that group's rows
        for (int m = 0; m < k; ++m) {
          nn::Activation in = tokens(d, l, m), out = in;
          if (l > 0) in.x = fetch_act(stash_act((l + 1) % 2, m));
          if (l + 1 < L) {
            out.x = x_out_.f32();
          } else {
            out.logits = logits_.f32();
            out.pooled = pooled ? x_out_.f32() : nullptr;
          }
          layer(l).forward(ctx, w, in, out, saved_.data(), work_.data());
          if (l + 1 < L) {
            store_act(x_out_.f32(), stash_act(l % 2, m));
            continue;
          }
          be_.copy_async(host_logits.data(), Space::kHost, logits_.data(), Space::kDevice, mb_ * K * sizeof(float))
              .wait();
          if (pooled)
            be_.copy_async(host_pooled.data(), Space::kHost, x_out_.data(), Space::kDevice, mb_ * C * sizeof(float))
                .wait();
          const int r0 = g0 + m * mb_, keep = std::min(mb_, batch.B - r0);
          if (keep <= 0) continue;
          if (logits) std::copy_n(host_logits.data(), keep * K, logits + static_cast<std::size_t>(r0) * K);
          if (pooled) std::copy_n(host_pooled.data(), keep * C, pooled + static_cast<std::size_t>(r0) * C);
        }
      }
      invalidate_slots();
    }
  }

  void read_state(float* params, float* m, float* v) override { eps_.read_state(params, m, v); }
  void read_grads(float* grads) override { eps_.read_grads(grads); }
  void write_state(const float* params, const float* m, const float* v, std::int64_t steps_done,
                   std::int64_t updates_done) override {
    eps_.write_state(params, m, v, updates_done);
    steps_ = steps_done;
    invalidate_slots();
  }

  ExecutorStats stats() const override {
    ExecutorStats s;
    s.micro_batch = mb_;
    s.has_eps = true;
    s.eps_bytes = eps_.host_bytes();
    s.eager = eps_.eager();
    s.eps_update_seconds = update_seconds_;
    s.eps_overlap = update_seconds_ > 0 ? overlap_seconds_ / update_seconds_ : 0.0;
    s.recomputed_layers = recomputed_layers();
    return s;
  }

 private:
  struct Slot {
    int layer = -1;
    Buffer buf;
    backend::Event ready;
  };

  bool bf16() const { return opt_.device_dtype == DType::kBF16; }
  // fp32: two slots, the executing layer's and the next one's. bf16: the executing layer runs from an fp32 working
  // copy, so its bf16 slot is free as soon as it is converted and one slot suffices (1.5 fp32 slabs in all).
  int num_slots() const { return bf16() ? 1 : 2; }

  nn::Ctx base_ctx(bool training) const {
    nn::Ctx ctx;
    ctx.be = &be_;
    ctx.seed = opt_.seed;
    ctx.step = steps_;
    ctx.training = training;
    ctx.loss_scale = 1.0f / static_cast<float>(B_);
    return ctx;
  }

  // Micro-batch m's token arrays as layer l sees them: the embeddings read the remapped ids.
  nn::Activation tokens(const model::Batch& d, int l, int m) const {
    const model::Batch r = batch_rows(d, m * mb_, mb_);
    nn::Activation a;
    a.B = r.B;
    a.T = r.T;
    a.ids = l == 0 ? cids_.as<std::int32_t>() + static_cast<std::size_t>(m) * mb_ * T_ : r.ids;
    a.segs = r.segs;
    a.key_mask = r.key_mask;
    a.labels = r.labels;
    return a;
  }

  // Layer l's input (reloaded from the stash) and output buffers for micro-batch m of a training step; sets the
  // Ctx's layer and micro-batch (the dropout key).
  std::pair<nn::Activation, nn::Activation> layer_io(const model::Batch& d, int l, int m, nn::Ctx& ctx) {
    nn::Activation in = tokens(d, l, m), out = in;
    if (l > 0) in.x = fetch_act(stash_act(l - 1, m));
    if (l + 1 < model_.num_layers()) {
      out.x = x_out_.f32();
    } else {
      out.logits = logits_.f32();
      out.losses = losses_.f32();
    }
    ctx.layer_index = l;
    ctx.micro_batch = m;
    return {in, out};
  }

  void allocate(int B, int T, int b) {
    for (Slot& s : slots_) s = Slot();
    work32_.reset();
    grad_.reset();
    cids_.reset();
    for (backend::Event& e : saved_ev_) e.wait();
    for (Buffer* buf : {&x_in_, &x_out_, &dout_, &din_, &conv_, &saved_, &saved2_, &work_, &logits_, &losses_,
                        &stash_, &saved_stash_})
      buf->reset();
    device_batch_.release();
    const int L = model_.num_layers();
    const auto [saved, ws] = layer_scratch(b, T);
    for (int i = 0; i < num_slots(); ++i)
      slots_[i].buf = be_.alloc(Space::kDevice, max_fetch_bytes(B, T), "L2L slab slot");
    work_layer_ = -1;
    grad_ = be_.alloc(Space::kDevice, max_slab_floats(B, T) * sizeof(float), "L2L gradient slab");
    if (bf16()) work32_ = be_.alloc(Space::kDevice, max_slab_floats(B, T) * sizeof(float), "L2L fp32 working slab");
    cids_ = be_.alloc(Space::kDevice, static_cast<std::size_t>(B) * T * sizeof(std::int32_t), "remapped token ids");
    x_in_ = be_.alloc(Space::kDevice, act_bytes(b, T), "layer input");
    x_out_ = be_.alloc(Space::kDevice, act_bytes(b, T), "layer output");
    dout_ = be_.alloc(Space::kDevice, act_bytes(b, T), "output gradient");
    din_ = be_.alloc(Space::kDevice, act_bytes(b, T), "input gradient");
    if (bf16()) conv_ = be_.alloc(Space::kDevice, act_bytes(b, T) / 2, "bf16 activation conversion");
    saved_ = be_.alloc(Space::kDevice, saved, "saved activations of one layer");
    if (any_stashed()) saved2_ = be_.alloc(Space::kDevice, saved, "saved activations, second buffer");
    work_ = be_.alloc(Space::kDevice, ws, "layer workspace");
    const std::size_t K = model_.config().num_labels;
    logits_ = be_.alloc(Space::kDevice, b * K * sizeof(float), "logits");
    losses_ = be_.alloc(Space::kDevice, b * sizeof(float), "losses");
    stash_ = be_.alloc(opt_.stash, stash_bytes(B, T), "L2L stash");
    saved_offsets_.clear();
    if (any_stashed()) {
      saved_stash_ = be_.alloc(opt_.stash, saved_stash_bytes(B, T, b), "L2L saved-activation stash");
      std::size_t off = 0;
      for (int l = 0; l < L; ++l) {
        saved_offsets_.push_back(off);
        if (stashed_[l]) off += layer_saved_stash(l, B, T, b);
      }
    }
    B_ = B;
    T_ = T;
    mb_ = b;
  }

  std::size_t stash_offset(int m) const { return static_cast<std::size_t>(m) * act_bytes(mb_, T_) / sizeof(float) * stash_elem(); }
  // Output of layer l for micro-batch m in the stash.
  void* stash_act(int l, int m) const {
    const std::size_t boundary = static_cast<std::size_t>(B_) * T_ * model_.config().hidden_size * stash_elem();
    return static_cast<char*>(stash_.data()) + l * boundary + stash_offset(m);
  }
  std::size_t saved_size(int l) const { return model_.layer(l).saved_bytes(mb_, T_); }
  void* saved_buf(int i) const { return i == 0 ? saved_.data() : saved2_.data(); }
  void* saved_slot(int l, int m) const {
    return static_cast<char*>(saved_stash_.data()) + saved_offsets_[l] + static_cast<std::size_t>(m) * saved_size(l);
  }
  // d(output of the current layer) for micro-batch m (fp32, after the activation boundaries).
  void* stash_grad(int m) const {
    const std::size_t boundary = static_cast<std::size_t>(B_) * T_ * model_.config().hidden_size * stash_elem();
    return static_cast<char*>(stash_.data()) + (model_.num_layers() - 1) * boundary + m * act_bytes(mb_, T_);
  }

  // Device x (fp32) -> stash slot, through bf16 when asked. Blocks until the copy is done (x is reused next).
  void store_act(const float* x, void* slot) {
    const std::size_t n = act_bytes(mb_, T_) / sizeof(float);
    if (bf16()) {
      be_.f32_to_bf16(conv_.as<std::uint16_t>(), x, n);
      be_.copy_async(slot, opt_.stash, conv_.data(), Space::kDevice, n * sizeof(std::uint16_t)).wait();
    } else {
      be_.copy_async(slot, opt_.stash, x, Space::kDevice, n * sizeof(float)).wait();
    }
  }
  // Stash slot -> the device input buffer (fp32).
  float* fetch_act(const void* slot) {
    const std::size_t n = act_bytes(mb_, T_) / sizeof(float);
    if (bf16()) {
      be_.copy_async(conv_.data(), Space::kDevice, slot, opt_.stash, n * sizeof(std::uint16_t)).wait();
      be_.bf16_to_f32(x_in_.f32(), conv_.as<std::uint16_t>(), n);
    } else {
      be_.copy_async(x_in_.data(), Space::kDevice, slot, opt_.stash, n * sizeof(float)).wait();
    }
    return x_in_.f32();
  }

  void invalidate_slots() {
    for (Slot& s : slots_) {
      s.ready.wait();
      s.layer = -1;
    }
    work_layer_ = -1;
  }

  Slot* holding(int l) {
    for (int i = 0; i < num_slots(); ++i)
      if (slots_[i].layer == l) return &slots_[i];
    return nullptr;
  }
  // The slot a prefetch may fill: not the one the executing layer computes from.
  Slot& spare() { return bf16() ? slots_[0] : slots_[current_ ^ 1]; }

  void issue(int l, Slot& s) {
    if (l == 0) {  // the batch's word rows (packed) and the rest of the slab
      eps_.wait_rows(rows_);
      const std::size_t row = row_floats_ * elem(), n = rows_.size();
      const char* src = static_cast<const char*>(eps_.fetch(0));
      s.layer = l;
      be_.gather_rows_async(s.buf.data(), Space::kDevice, src, Space::kHost, rows_, row);
      s.ready = be_.copy_async(s.buf.as<char>() + n * row, Space::kDevice, src + table_rows_ * row, Space::kHost,
                               rest_floats_ * elem());
      return;
    }
    eps_.wait_updated(l);
    s.layer = l;
    s.ready = be_.copy_async(s.buf.data(), Space::kDevice, eps_.fetch(l), Space::kHost, eps_.fetch_bytes(l));
  }

  // Starts copying layer l into the slot the executing layer does not use, if the EPS is done with it.
  void try_prefetch(int l) {
    if (l < 0 || holding(l) || work_layer_ == l || !eps_.updated(l)) return;
    Slot& other = spare();
    other.ready.wait();
    issue(l, other);
  }

  // Makes layer l the executing layer and returns its fp32 parameters on the device; starts prefetching `next`.
  const float* load(int l, int next) {
    if (bf16() && work_layer_ == l) {  // still in the working copy (the head, from forward to backward)
      if (next != l) try_prefetch(next);
      return work32_.f32();
    }
    Slot* s = holding(l);
    if (!s) {
      s = &spare();
      s->ready.wait();
      issue(l, *s);
    }
    s->ready.wait();
    current_ = static_cast<int>(s - slots_);
    const float* w = s->buf.f32();
    if (bf16()) {
      be_.bf16_to_f32(work32_.f32(), s->buf.as<std::uint16_t>(), floats(l));
      w = work32_.f32();
      work_layer_ = l;
      s->layer = -1;  // the slot is free for the next prefetch
    }
    if (next != l) try_prefetch(next);
    return w;
  }

  // EPS update time that ran while the device computed, over the intervals finished so far.
  void account_overlap() {
    for (const EagerParamServer::Interval& u : eps_.take_update_intervals()) {
      const double total = std::chrono::duration<double>(u.end - u.begin).count();
      double inside = 0.0;
      for (const auto& c : compute_) {
        const auto b = std::max(u.begin, c.begin), e = std::min(u.end, c.end);
        if (e > b) inside += std::chrono::duration<double>(e - b).count();
      }
      update_seconds_ += total;
      overlap_seconds_ += std::min(inside, total);
    }
    // Keep the intervals of the last two steps: updates can spill into the next step's forward.
    const std::size_t keep = 4 * static_cast<std::size_t>(model_.num_layers());
    if (compute_.size() > keep) compute_.erase(compute_.begin(), compute_.end() - static_cast<std::ptrdiff_t>(keep));
  }

  const model::Bert& model_;
  backend::Backend& be_;
  ExecutorOptions opt_;
  EagerParamServer eps_;
  std::vector<char> stashed_;  // per layer: saved activations stashed (else recomputed); prepare() decides for auto
  std::size_t table_rows_ = 0, row_floats_ = 0, rest_floats_ = 0;  // its word table (V x C) and what follows it
  std::unique_ptr<nn::EmbeddingLayer> compact_;       // layer 0 over the current batch's rows
  std::vector<std::int32_t> rows_, host_cids_;        // the current batch's word rows; its remapped ids
  std::vector<std::int32_t> grad_rows_;               // rows of the EPS's word-table gradient that are non-zero
  Slot slots_[2];
  int current_ = 0, work_layer_ = -1;
  Buffer cids_, work32_, grad_, x_in_, x_out_, dout_, din_, conv_, saved_, saved2_, work_, logits_, losses_, stash_,
      saved_stash_;
  backend::Event saved_ev_[2];
  std::vector<std::size_t> saved_offsets_;
  DeviceBatch device_batch_;
  backend::Event grad_copied_;
  int B_ = -1, T_ = -1, mb_ = 0;
  std::int64_t steps_ = 0;
  std::vector<EagerParamServer::Interval> compute_;
  double update_seconds_ = 0.0, overlap_seconds_ = 0.0;
};

}  // namespace

std::unique_ptr<Executor> make_l2l_executor(const model::Bert& model, backend::Backend& be,
                                            const ExecutorOptions& options) {
  return std::make_unique<L2LExecutor>(model, be, options);
}

}  // namespace strata::train
