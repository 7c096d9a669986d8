// The eager param-server: host-resident master weights, gradients and moments; a worker thread that applies each
// layer's update as soon as its gradient has arrived (eager) or, with global clipping, after all have.
#include "strata/train/eps.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "strata/core/error.h"

namespace strata::train {

namespace {
// The EPS works in the background: where it shares cores with compute (a CPU device; a GPU's launch threads),
// compute gets them first and the updates take the cycles it leaves.
constexpr int kEpsNice = 10;
}  // namespace

EagerParamServer::EagerParamServer(const model::Bert& model, backend::Backend& be, const EpsOptions& options)
    : model_(model),
      be_(be),
      options_(options),
      pool_(std::max(1, options.threads), kEpsNice),
      shards_(model, nullptr) {
  validate(options.optim);
  if (options.threads < 1) bad_input("--eps-threads must be at least 1, given ", options.threads);
  const std::size_t n = model.total_floats(), bytes = n * sizeof(float);
  sharded_ = options.shard && options.group && options.group->size() > 1;
  init_shards();
  // The optimizer thread's own collectives (LAMB's norms, the skip decision) on their own communication thread, so
  // they never interleave with the executor thread's reductions.
  if (sharded_) worker_group_ = options.group->duplicate();
  const std::size_t moment_bytes = shards_.moment_floats() * sizeof(float);
  params_ = be.alloc(Space::kHost, bytes, "EPS master weights");
  grads_ = be.alloc(Space::kHost, bytes, "EPS gradients");
  m_ = be.alloc(Space::kHost, moment_bytes, "EPS first moments");
  v_ = be.alloc(Space::kHost, moment_bytes, "EPS second moments");
  for (Buffer* b : {&params_, &grads_, &m_, &v_}) std::memset(b->data(), 0, b->bytes());
  if (options.device_dtype == DType::kBF16) {
    bf16_ = be.alloc(Space::kHost, n * sizeof(std::uint16_t), "EPS bf16 copies");
    std::memset(bf16_.data(), 0, n * sizeof(std::uint16_t));
  }
  if (eager() && elementwise(options.optim) && !sharded_) {
    rows_first_ = true;
    table_rows_ = static_cast<std::size_t>(model.embeddings().config().vocab);
    row_floats_ = static_cast<std::size_t>(model.embeddings().config().hidden);
  }
  const int L = model.num_layers();
  grad_ready_.resize(L);
  grad_reduced_.resize(L);
  pending_.assign(L, 0);
  sumsq_.assign(L, 0.0);
  thread_ = std::thread([this] { worker(); });
}

EagerParamServer::~EagerParamServer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::size_t EagerParamServer::optimizer_bytes() const { return m_.bytes() + v_.bytes(); }

std::size_t EagerParamServer::host_bytes() const {
  return params_.bytes() + grads_.bytes() + m_.bytes() + v_.bytes() + bf16_.bytes();
}

const void* EagerParamServer::fetch(int layer) const {
  const std::size_t off = model_.slab_offset(layer);
  if (!bf16_.empty()) return bf16_.as<std::uint16_t>() + off;
  return params_.f32() + off;
}

std::size_t EagerParamServer::fetch_bytes(int layer) const {
  return model_.slab_floats(layer) * (bf16_.empty() ? sizeof(float) : sizeof(std::uint16_t));
}

float* EagerParamServer::grad_slab(int layer) { return grads_.f32() + model_.slab_offset(layer); }

void EagerParamServer::begin_step(double lr) {
  std::lock_guard<std::mutex> lock(mu_);
  lr_ = lr;
  t_ = updates_ + 1;
  pushed_ = measured_ = 0;
  norm_ready_ = false;
  applied_ = true;
  std::fill(sumsq_.begin(), sumsq_.end(), 0.0);
  std::fill(grad_ready_.begin(), grad_ready_.end(), backend::Event());
  std::fill(grad_reduced_.begin(), grad_reduced_.end(), dist::Request());
  norm_request_ = {};
  local_ready_ = false;
  last_pushed_ = -1;
  rows_set_ = false;
}

void EagerParamServer::set_step_rows(const std::vector<std::int32_t>& rows) {
  if (!options_.group || options_.group->size() == 1) return;
  if (!row_union_) {
    const std::size_t V = static_cast<std::size_t>(model_.embeddings().config().vocab);
    const std::size_t C = static_cast<std::size_t>(model_.embeddings().config().hidden);
    row_union_ = std::make_unique<RowUnionReduction>(V, C, model_.slab_floats(0) - V * C);
  }
  row_union_->begin_step(*options_.group, rows);
  rows_set_ = true;
}

const std::vector<std::int32_t>* EagerParamServer::reduced_rows() const {
  static const std::vector<std::int32_t> kNone;
  if (!union_reduced_) return nullptr;
  return row_union_ ? &row_union_->rows() : &kNone;
}

dist::Request EagerParamServer::reduce_grad(int layer, const backend::Event& copied) {
  if (!options_.group || options_.group->size() == 1) return {};
  float* g = grad_slab(layer);
  const std::size_t n = model_.slab_floats(layer);
  auto wait_copy = [copied] { copied.wait(); };
  if (layer == 0) union_reduced_ = rows_set_;
  // The union's sum is whole on every process; sharded, this process then reads its chunk of it.
  if (layer == 0 && rows_set_) return row_union_->reduce(*options_.group, g, wait_copy);
  if (sharded_) return options_.group->reduce_scatter_sum_async(g, n, wait_copy);  // this process's chunk only
  return options_.group->all_reduce_sum_async(g, n, wait_copy);
}

void EagerParamServer::push_grad(int layer, backend::Event copied) {
  const dist::Request reduced = reduce_grad(layer, copied);  // queued at once: overlaps the layers below
  bool last;
  {
    std::lock_guard<std::mutex> lock(mu_);
    STRATA_CHECK(!pending_[layer], "EPS: layer ", layer, " pushed twice in one step");
    pending_[layer] = 1;
    last = ++pushed_ == model_.num_layers();
    if (eager()) {
      queue_.push_back(Task{layer, {copied}, {reduced}, lr_, t_});
    } else {
      grad_ready_[layer] = copied;
      grad_reduced_[layer] = reduced;
      if (last) queue_.push_back(Task{-1, grad_ready_, grad_reduced_, lr_, t_});
    }
  }
  cv_.notify_all();
  if (sharded_) queue_sharded_follow_ups(layer, last);
}

bool EagerParamServer::updated(int layer) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_[layer]) return false;
  }
  if (!sharded_) return true;
  if (!gathered_[layer].ready()) return false;
  finish_gather(layer);  // the bf16 copy too, before anyone fetches the layer
  return true;
}

void EagerParamServer::wait_updated(int layer) const {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (pending_[layer]) {
      flush_ = pending_[0] != 0;  // layer 0 rows-first waits for a request that may not come: update all rows now
      cv_.notify_all();
      cv_.wait(lock, [&] { return !pending_[layer]; });
    }
  }
  if (sharded_) finish_gather(layer);
}

void EagerParamServer::wait_all() const {
  {
    std::unique_lock<std::mutex> lock(mu_);
    flush_ = pending_[0] != 0;
    cv_.notify_all();
    cv_.wait(lock, [&] { return std::none_of(pending_.begin(), pending_.end(), [](char p) { return p != 0; }); });
  }
  if (sharded_)
    for (int l = 0; l < model_.num_layers(); ++l) finish_gather(l);
}

double EagerParamServer::wait_grad_norm(bool* applied) {
  if (sharded_) {
    const double total = sharded_norm_total();
    std::lock_guard<std::mutex> lock(mu_);
    if (!norm_ready_) set_norm(total);
  }
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return norm_ready_; });
  if (applied) *applied = applied_;
  return norm_;
}

void EagerParamServer::set_norm(double sumsq_total) {
  norm_ = std::sqrt(sumsq_total);
  applied_ = std::isfinite(norm_);
  if (applied_ || eager()) updates_ = t_;
  norm_ready_ = true;
}

void EagerParamServer::worker() {
  lower_this_thread_priority(kEpsNice);
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    run(task);
  }
}

void EagerParamServer::run(Task& task) {
  for (const backend::Event& e : task.ready) e.wait();
  for (const dist::Request& r : task.reduced) r.wait();
  const int L = model_.num_layers();
  if (task.layer >= 0) {  // eager: measure, then update this layer alone
    const int l = task.layer;
    const double ss = sum_squares(pool_, grad_slab(l) + update_begin(l), update_floats(l));  // this chunk
    double layer_ss = ss;  // sharded: the whole layer's, so every process skips a non-finite layer, or none does
    if (sharded_) worker_group_->all_reduce_sum(&layer_ss, 1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      sumsq_[l] = ss;
      if (++measured_ == L) {
        double total = 0.0;
        for (double x : sumsq_) total += x;
        if (sharded_)
          local_total_ = total, local_ready_ = true;  // the norm sums every process's share
        else
          set_norm(total);
      }
    }
    cv_.notify_all();
    if (std::isfinite(layer_ss)) {
      if (l == 0 && rows_first_)
        update_rows_first(task.lr, task.t);
      else
        update_layer(l, task.lr, 1.0f, task.t);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_[l] = 0;
    }
    cv_.notify_all();
    return;
  }
  // Clipping: the global norm exactly as the baseline computes it, then every layer in forward order.
  std::vector<GradSpan> spans;
  for (int l = 0; l < L; ++l) spans.emplace_back(grad_slab(l) + update_begin(l), update_floats(l));
  double norm = global_grad_norm(pool_, spans);
  if (sharded_) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      local_total_ = norm * norm;
      local_ready_ = true;
    }
    cv_.notify_all();
    norm = std::sqrt(sharded_norm_total());
  }
  bool apply;
  {
    std::lock_guard<std::mutex> lock(mu_);
    set_norm(norm * norm);
    norm_ = norm;  // bit-identical to the baseline's value
    applied_ = apply = std::isfinite(norm);
  }
  cv_.notify_all();
  const float scale = apply ? clip_factor(norm, options_.optim.clip) : 1.0f;
  for (int l = 0; l < L; ++l) {
    if (apply) update_layer(l, task.lr, scale, task.t);
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_[l] = 0;
    }
    cv_.notify_all();
  }
}

void EagerParamServer::update_layer(int l, double lr, float scale, std::int64_t t) {
  const auto begin = Clock::now();
  const std::size_t off = model_.slab_offset(l) + update_begin(l), mo = moment_offset(l);
  CombineNorms combine;  // sharded LAMB: the trust ratio over the whole slab
  if (sharded_) combine = [this](std::span<double> sq) { worker_group_->all_reduce_sum(sq.data(), sq.size()); };
  optimizer_step(pool_, options_.optim, params_.f32() + off, grads_.f32() + off, m_.f32() + mo, v_.f32() + mo,
                 update_floats(l), lr, t, scale, bf16_.empty() ? nullptr : bf16_.as<std::uint16_t>() + off, combine);
  const auto end = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  intervals_.push_back({begin, end});
}

void EagerParamServer::wait_rows(const std::vector<std::int32_t>& rows) {
  if (!rows_first_) return wait_updated(0);  // whole-slab updates (and, sharded, the gather)
  std::unique_lock<std::mutex> lock(mu_);
  if (!pending_[0]) return;
  for (const std::int32_t r : rows)
    STRATA_CHECK(r >= 0 && static_cast<std::size_t>(r) < table_rows_, "EPS: row ", r, " outside the table");
  request_ = rows;
  const std::uint64_t seq = ++request_seq_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return !pending_[0] || served_seq_ >= seq; });
}

void EagerParamServer::update_rows_first(double lr, std::int64_t t) {
  auto begin = Clock::now();
  const std::size_t off = model_.slab_offset(0), n = model_.slab_floats(0), table = table_rows_ * row_floats_;
  std::uint16_t* bf16 = bf16_.empty() ? nullptr : bf16_.as<std::uint16_t>() + off;
  std::vector<Segment> pieces;
  ThreadPool solo(1);  // the caller alone
  auto apply = [&](ThreadPool& pool) {
    optimizer_step_pieces(pool, options_.optim, params_.f32() + off, grads_.f32() + off, m_.f32() + off, v_.f32() + off,
                          pieces, lr, t, 1.0f, bf16);
    pieces.clear();
  };
  std::vector<char> done(table_rows_, 0);
  auto take = [&](std::size_t r) {  // row r into the pieces (adjacent rows merged), unless it is done
    if (done[r]) return;
    done[r] = 1;
    if (!pieces.empty() && pieces.back().offset + pieces.back().size == r * row_floats_)
      pieces.back().size += row_floats_;
    else
      pieces.push_back({r * row_floats_, row_floats_});
  };
  auto serve = [&] {  // the rows of a pending wait_rows() request first
    std::vector<std::int32_t> rows;
    std::uint64_t seq;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (served_seq_ == request_seq_) return;
      rows = request_;
      seq = request_seq_;
    }
    for (const std::int32_t r : rows) take(static_cast<std::size_t>(r));
    apply(pool_);  // the device waits for these: every EPS thread
    {
      std::lock_guard<std::mutex> lock(mu_);
      served_seq_ = seq;
    }
    cv_.notify_all();
  };
  pieces.push_back({table, n - table});  // the tensors after the table (small), before any request is served
  apply(pool_);
  // Then wait for the next forward to say which rows it reads (or for a whole-slab wait): the rows it does not read
  // are updated while it runs.
  auto paused = Clock::now();
  {
    std::unique_lock<std::mutex> lock(mu_);
    intervals_.push_back({begin, paused});
    cv_.wait(lock, [&] { return request_seq_ > served_seq_ || flush_ || stop_; });
  }
  begin = Clock::now();
  const std::size_t chunk = std::max<std::size_t>(1, (std::size_t{1} << 16) / row_floats_);
  for (std::size_t r0 = 0; r0 < table_rows_; r0 += chunk) {
    serve();
    for (std::size_t r = r0; r < std::min(table_rows_, r0 + chunk); ++r) take(r);
    bool under_forward;  // the device runs the next forward now: leave it a core
    {
      std::lock_guard<std::mutex> lock(mu_);
      under_forward = served_seq_ == request_seq_ && !flush_;
    }
    apply(under_forward ? solo : pool_);
  }
  const auto end = Clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  served_seq_ = request_seq_;  // a request that came after the last chunk is met too
  flush_ = false;
  intervals_.push_back({begin, end});
}

std::vector<EagerParamServer::Interval> EagerParamServer::take_update_intervals() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<Interval> out;
  out.swap(intervals_);
  return out;
}

void EagerParamServer::read_state(float* params, float* m, float* v) const {
  wait_all();
  const std::size_t n = model_.total_floats();
  if (params) std::copy_n(params_.f32(), n, params);
  if (sharded_) {
    if (m) shards_.gather(*options_.group, m_.f32(), m);
    if (v) shards_.gather(*options_.group, v_.f32(), v);
    return;
  }
  if (m) std::copy_n(m_.f32(), n, m);
  if (v) std::copy_n(v_.f32(), n, v);
}

void EagerParamServer::read_grads(float* grads) const {
  wait_all();
  std::copy_n(grads_.f32(), model_.total_floats(), grads);
}

void EagerParamServer::write_state(const float* params, const float* m, const float* v, std::int64_t updates_done) {
  wait_all();
  const std::size_t n = model_.total_floats();
  auto put = [&](const float* src, const Buffer& dst) {
    if (src)
      std::copy_n(src, n, dst.f32());
    else
      std::memset(dst.data(), 0, n * sizeof(float));
  };
  put(params, params_);
  if (sharded_) {
    shards_.scatter(m, m_.f32());
    shards_.scatter(v, v_.f32());
  } else {
    put(m, m_);
    put(v, v_);
  }
  if (!bf16_.empty()) f32_to_bf16(params_.f32(), bf16_.as<std::uint16_t>(), n);
  std::lock_guard<std::mutex> lock(mu_);
  updates_ = updates_done;
}

std::int64_t EagerParamServer::updates_done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return updates_;
}

}  // namespace strata::train
