// The L2L masked-LM decoder stage: the transform per micro-batch, then the tied decoder chunk by chunk of the word
// table with an online log-sum-exp (forward) and the same chunks again for the gradients (backward).
#include "strata/train/mlm_decoder.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "strata/core/error.h"
#include "strata/model/bert_mlm.h"

namespace strata::train {

int mlm_chunk_rows(const model::Bert& model) {
  const int C = model.config().hidden_size, V = model.config().vocab_size;
  return std::min(V, std::max(128, 2 * C));
}

std::size_t relay_slab_floats(const model::Bert& model, int l) {
  if (model.head() == model::Head::kMaskedLm && l + 1 == model.num_layers())
    return static_cast<const nn::MlmHeadLayer&>(model.layer(l)).head().bias_offset();
  return model.slab_floats(l);
}

MlmDecoderStage::MlmDecoderStage(const model::Bert& model)
    : model_(model),
      head_(static_cast<const nn::MlmHeadLayer&>(model.layer(model.num_layers() - 1)).head()),
      C_(model.config().hidden_size),
      V_(model.config().vocab_size),
      Vc_(mlm_chunk_rows(model)) {
  STRATA_CHECK(model.head() == model::Head::kMaskedLm, "the MLM decoder stage needs a masked-LM model");
}

std::int64_t MlmDecoderStage::set_labels(backend::Backend& be, MlmDecoderBuffers& bufs,
                                         const std::int32_t* token_labels, int B, int T, int b) {
  const int k = B / b;
  positions_.assign(k, {});
  offset_.assign(k + 1, 0);
  labels_.clear();
  for (int m = 0; m < k; ++m) {
    const std::int32_t* lab = token_labels + static_cast<std::size_t>(m) * b * T;
    for (int i = 0; i < b * T; ++i) {
      if (lab[i] == model::kIgnore) continue;
      if (lab[i] < 0 || lab[i] >= V_)
        bad_input("MLM label ", lab[i], " at position ", m * b * T + i, " outside the vocabulary of ", V_);
      positions_[m].push_back(i);
      labels_.push_back(lab[i]);
    }
    offset_[m + 1] = static_cast<std::int64_t>(labels_.size());
  }
  if (!labels_.empty())
    be.copy_async(bufs.labels.data(), Space::kDevice, labels_.data(), Space::kHost,
                  labels_.size() * sizeof(std::int32_t))
        .wait();
  t_holds_ = -1;
  return static_cast<std::int64_t>(labels_.size());
}

void MlmDecoderStage::transform_forward(const nn::Ctx& ctx, const float* w, const float* x, int m, float* rows,
                                        MlmDecoderBuffers& bufs, void* saved) {
  backend::Backend& be = *ctx.be;
  const int M = predicted(m);
  if (M == 0) return;
  const std::size_t row = static_cast<std::size_t>(C_) * sizeof(float);
  be.gather_rows_async(rows, Space::kDevice, x, Space::kDevice, positions_[m], row).wait();  // (M, C)
  head_.transform_forward(ctx, w, rows, M, bufs.t.f32(), saved);                             // (M, C)
  be.copy_async(bufs.t_stash.as<char>() + offset_[m] * row, bufs.t_stash.space(), bufs.t.data(), Space::kDevice,
                M * row)
      .wait();
  t_holds_ = m;
}

void MlmDecoderStage::load_t(backend::Backend& be, int m, MlmDecoderBuffers& bufs) {
  if (t_holds_ == m) return;
  const std::size_t row = static_cast<std::size_t>(C_) * sizeof(float);
  be.copy_async(bufs.t.data(), Space::kDevice, bufs.t_stash.as<char>() + offset_[m] * row, bufs.t_stash.space(),
                predicted(m) * row)
      .wait();
  t_holds_ = m;
}

void MlmDecoderStage::issue_chunk(backend::Backend& be, int c, EagerParamServer& eps, MlmDecoderBuffers& bufs,
                                  std::size_t elem) {
  const std::size_t row = static_cast<std::size_t>(C_) * elem, v0 = static_cast<std::size_t>(c) * Vc_;
  const char* table = static_cast<const char*>(eps.fetch(0));  // the word table leads layer 0's slab
  const char* bias = static_cast<const char*>(eps.fetch(model_.num_layers() - 1)) + head_.bias_offset() * elem;
  chunk_ready_[c % 2] =
      be.copy_async(bufs.chunk[c % 2].data(), Space::kDevice, table + v0 * row, Space::kHost, chunk_size(c) * row);
  bias_ready_[c % 2] =
      be.copy_async(bufs.bias[c % 2].data(), Space::kDevice, bias + v0 * elem, Space::kHost, chunk_size(c) * elem);
}

MlmDecoderStage::Chunk MlmDecoderStage::chunk(backend::Backend& be, int c, EagerParamServer& eps,
                                              MlmDecoderBuffers& bufs, std::size_t elem) {
  if (c == 0) issue_chunk(be, 0, eps, bufs, elem);
  chunk_ready_[c % 2].wait();
  bias_ready_[c % 2].wait();
  Chunk k{bufs.chunk[c % 2].f32(), bufs.bias[c % 2].f32()};
  if (elem != sizeof(float)) {  // bf16: widen into the working copies, the slot is free again
    const std::size_t vc = static_cast<std::size_t>(chunk_size(c));
    be.bf16_to_f32(bufs.chunk_f32.f32(), bufs.chunk[c % 2].as<std::uint16_t>(), vc * C_);
    be.bf16_to_f32(bufs.bias_f32.f32(), bufs.bias[c % 2].as<std::uint16_t>(), vc);
    k = Chunk{bufs.chunk_f32.f32(), bufs.bias_f32.f32()};
  }
  if (c + 1 < chunks()) issue_chunk(be, c + 1, eps, bufs, elem);  // the other slot: its last reader is done
  return k;
}

MlmPassResult MlmDecoderStage::decode_forward(const nn::Ctx& ctx, EagerParamServer& eps, MlmDecoderBuffers& bufs,
                                              std::size_t elem) {
  backend::Backend& be = *ctx.be;
  const std::size_t N = labels_.size();
  MlmPassResult r;
  r.predicted = static_cast<std::int64_t>(N);
  if (N == 0) return r;
  std::vector<float> stats(4 * N);
  for (std::size_t i = 0; i < N; ++i)
    stats[4 * i] = -std::numeric_limits<float>::infinity(), stats[4 * i + 3] = stats[4 * i];
  std::vector<std::int32_t> best(N, -1);
  be.copy_async(bufs.stats.data(), Space::kDevice, stats.data(), Space::kHost, stats.size() * sizeof(float)).wait();
  be.copy_async(bufs.best.data(), Space::kDevice, best.data(), Space::kHost, N * sizeof(std::int32_t)).wait();
  eps.wait_updated(0);  // every row of the table, updated by the last step
  eps.wait_updated(model_.num_layers() - 1);
  const auto* labels = bufs.labels.as<std::int32_t>();
  for (int c = 0; c < chunks(); ++c) {
    const Chunk k = chunk(be, c, eps, bufs, elem);
    const int v0 = c * Vc_, vc = chunk_size(c);
    for (std::size_t m = 0; m < positions_.size(); ++m) {
      const int M = predicted(static_cast<int>(m));
      if (M == 0) continue;
      load_t(be, static_cast<int>(m), bufs);
      be.linear_forward(bufs.tile.f32(), bufs.t.f32(), k.w, k.b, M, C_, vc);  // (M, vc)
      be.xent_chunk_forward(bufs.stats.f32() + 4 * offset_[m], bufs.best.as<std::int32_t>() + offset_[m],
                            bufs.tile.f32(), labels + offset_[m], M, vc, v0);
    }
  }
  be.copy_async(stats.data(), Space::kHost, bufs.stats.data(), Space::kDevice, stats.size() * sizeof(float)).wait();
  be.copy_async(best.data(), Space::kHost, bufs.best.data(), Space::kDevice, N * sizeof(std::int32_t)).wait();
  lse_.resize(N);
  for (std::size_t i = 0; i < N; ++i) {
    const float* st = &stats[4 * i];
    const float log_sum = std::log(st[1]);
    r.loss_sum += log_sum - (st[2] - st[0]);  // as softmax_xent_forward: log-sum-exp - label logit, max removed
    lse_[i] = st[0] + log_sum;
    r.correct += best[i] == labels_[i];
  }
  return r;
}

void MlmDecoderStage::decode_backward(const nn::Ctx& ctx, EagerParamServer& eps, MlmDecoderBuffers& bufs,
                                      std::size_t elem) {
  backend::Backend& be = *ctx.be;
  const std::size_t N = labels_.size(), row = static_cast<std::size_t>(C_) * sizeof(float);
  const int head = model_.num_layers() - 1;
  eps.wait_updated(0);  // the param-server no longer reads these gradient slabs
  eps.wait_updated(head);
  float* dbias = eps.grad_slab(head) + head_.bias_offset();
  if (N == 0) {  // nothing predicted: zero gradients (every row is written each step)
    std::fill_n(eps.grad_slab(0), static_cast<std::size_t>(V_) * C_, 0.0f);
    std::fill_n(dbias, V_, 0.0f);
    return;
  }
  be.copy_async(bufs.lse.data(), Space::kDevice, lse_.data(), Space::kHost, N * sizeof(float)).wait();
  const auto* labels = bufs.labels.as<std::int32_t>();
  for (int c = 0; c < chunks(); ++c) {
    const Chunk k = chunk(be, c, eps, bufs, elem);
    const int v0 = c * Vc_, vc = chunk_size(c);
    be.zero(bufs.dchunk.data(), Space::kDevice, static_cast<std::size_t>(vc) * row);
    be.zero(bufs.dbias.data(), Space::kDevice, static_cast<std::size_t>(vc) * sizeof(float));
    for (std::size_t m = 0; m < positions_.size(); ++m) {
      const int M = predicted(static_cast<int>(m));
      if (M == 0) continue;
      char* dt_stash = bufs.dt_stash.as<char>() + offset_[m] * row;
      load_t(be, static_cast<int>(m), bufs);
      if (c == 0)
        be.zero(bufs.dt.data(), Space::kDevice, M * row);
      else
        be.copy_async(bufs.dt.data(), Space::kDevice, dt_stash, bufs.dt_stash.space(), M * row).wait();
      be.linear_forward(bufs.tile.f32(), bufs.t.f32(), k.w, k.b, M, C_, vc);  // (M, vc) again
      be.xent_chunk_backward(bufs.tile.f32(), bufs.tile.f32(), bufs.lse.f32() + offset_[m], labels + offset_[m], M, vc,
                             v0, ctx.loss_scale);
      be.linear_backward(bufs.dt.f32(), bufs.dchunk.f32(), bufs.dbias.f32(), bufs.tile.f32(), bufs.t.f32(), k.w, M, C_,
                         vc);
      be.copy_async(dt_stash, bufs.dt_stash.space(), bufs.dt.data(), Space::kDevice, M * row).wait();
    }
    be.copy_async(eps.grad_slab(0) + static_cast<std::size_t>(v0) * C_, Space::kHost, bufs.dchunk.data(),
                  Space::kDevice, vc * row)
        .wait();
    be.copy_async(dbias + v0, Space::kHost, bufs.dbias.data(), Space::kDevice, vc * sizeof(float)).wait();
  }
}

void MlmDecoderStage::transform_backward(const nn::Ctx& ctx, const float* w, const float* x, int m, float* rows,
                                         float* drows, float* dx, float* dw, MlmDecoderBuffers& bufs, void* saved,
                                         void* workspace) {
  backend::Backend& be = *ctx.be;
  const int M = predicted(m);
  const std::size_t row = static_cast<std::size_t>(C_) * sizeof(float);
  if (M == 0) return;
  be.gather_rows_async(rows, Space::kDevice, x, Space::kDevice, positions_[m], row).wait();  // (M, C)
  head_.transform_forward(ctx, w, rows, M, bufs.t.f32(), saved);                             // recompute
  t_holds_ = m;
  be.copy_async(bufs.dt.data(), Space::kDevice, bufs.dt_stash.as<char>() + offset_[m] * row, bufs.dt_stash.space(),
                M * row)
      .wait();
  be.zero(drows, Space::kDevice, M * row);
  head_.transform_backward(ctx, w, rows, M, saved, bufs.dt.f32(), drows, dw, workspace);
  be.scatter_rows_async(dx, Space::kDevice, drows, Space::kDevice, positions_[m], row).wait();
}

}  // namespace strata::train
