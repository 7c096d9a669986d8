// The embeddings as the L2L device sees them: the batch's word-table rows packed, its ids remapped, and layer 0's
// slab and gradient moved as those rows plus the rest of the slab.
#include "strata/train/l2l_rows.h"

#include <cstring>

namespace strata::train {

namespace {

std::size_t rest_of_embeddings(const model::Bert& model) {
  return model.slab_floats(0) - model.embeddings().word_table_floats();
}

}  // namespace

std::size_t compact_embedding_floats(const model::Bert& model, std::size_t rows) {
  return rows * static_cast<std::size_t>(model.embeddings().config().hidden) + rest_of_embeddings(model);
}

CompactEmbeddings::CompactEmbeddings(const model::Bert& model, bool summed_over_ranks)
    : model_(model),
      table_rows_(static_cast<std::size_t>(model.embeddings().config().vocab)),
      row_floats_(static_cast<std::size_t>(model.embeddings().config().hidden)),
      rest_floats_(rest_of_embeddings(model)),
      summed_over_ranks_(summed_over_ranks) {}

std::size_t CompactEmbeddings::slab_floats() const { return compact_embedding_floats(model_, rows_.size()); }

void CompactEmbeddings::set_batch(backend::Backend& be, const model::Batch& host, Buffer& ids) {
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
  host_ids_.resize(n);
  for (std::size_t i = 0; i < n; ++i) host_ids_[i] = index[host.ids[i]];
  be.copy_async(ids.data(), Space::kDevice, host_ids_.data(), Space::kHost, n * sizeof(std::int32_t)).wait();
  nn::EmbeddingConfig cfg = model_.embeddings().config();
  cfg.vocab = static_cast<int>(rows_.size());
  cfg.pad_token_id = cfg.pad_token_id >= 0 ? index[cfg.pad_token_id] : -1;
  layer_ = std::make_unique<nn::EmbeddingLayer>(cfg);
}

backend::Event CompactEmbeddings::fetch(backend::Backend& be, EagerParamServer& eps, void* dst, std::size_t elem) {
  eps.wait_rows(rows_);
  const std::size_t row = row_floats_ * elem, n = rows_.size();
  const char* src = static_cast<const char*>(eps.fetch(0));
  be.gather_rows_async(dst, Space::kDevice, src, Space::kHost, rows_, row);
  return be.copy_async(static_cast<char*>(dst) + n * row, Space::kDevice, src + table_rows_ * row, Space::kHost,
                       rest_floats_ * elem);
}

backend::Event CompactEmbeddings::push_grad(backend::Backend& be, EagerParamServer& eps, const float* grad) {
  float* g = eps.grad_slab(0);
  // The previous step's non-zero rows: this process's or, summed over the ranks, the union's (or all of them).
  const std::vector<std::int32_t>* summed = summed_over_ranks_ ? eps.reduced_rows() : &grad_rows_;
  if (!summed)
    std::memset(g, 0, table_rows_ * row_floats_ * sizeof(float));
  else
    for (const std::int32_t r : *summed) std::memset(g + r * row_floats_, 0, row_floats_ * sizeof(float));
  grad_rows_ = rows_;
  be.scatter_rows_async(g, Space::kHost, grad, Space::kDevice, rows_, row_floats_ * sizeof(float));
  return be.copy_async(g + table_rows_ * row_floats_, Space::kHost, grad + rows_.size() * row_floats_, Space::kDevice,
                       rest_floats_ * sizeof(float));
}

backend::Event CompactEmbeddings::push_grad_onto_table(backend::Backend& be, EagerParamServer& eps, const float* grad) {
  float* g = eps.grad_slab(0);
  const std::size_t n = rows_.size();
  staged_.resize(n * row_floats_);
  be.copy_async(staged_.data(), Space::kHost, grad, Space::kDevice, staged_.size() * sizeof(float)).wait();
  for (std::size_t i = 0; i < n; ++i) {
    float* dst = g + static_cast<std::size_t>(rows_[i]) * row_floats_;
    const float* src = staged_.data() + i * row_floats_;
    for (std::size_t j = 0; j < row_floats_; ++j) dst[j] += src[j];
  }
  return be.copy_async(g + table_rows_ * row_floats_, Space::kHost, grad + n * row_floats_, Space::kDevice,
                       rest_floats_ * sizeof(float));
}

}  // namespace strata::train
