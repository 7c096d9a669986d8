// The embeddings as the L2L device sees them: only the word-table rows a batch reads, packed, the batch's token ids
// remapped to them. Layer 0's slab crosses to the device as those rows plus the rest of the slab, and its gradient
// comes back scattered into the EPS's full table.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/model/bert.h"
#include "strata/nn/embedding_layer.h"
#include "strata/train/eps.h"

namespace strata::train {

// Floats of layer 0's slab on the device with `rows` word-table rows.
std::size_t compact_embedding_floats(const model::Bert& model, std::size_t rows);

class CompactEmbeddings {
 public:
  // summed_over_ranks: the EPS sums the gradient slab over a data-parallel group, so after a step any row some
  // rank read is non-zero, not only this process's rows.
  CompactEmbeddings(const model::Bert& model, bool summed_over_ranks);

  // Takes the batch's distinct token ids (sorted), copies its ids remapped to them into `ids` (device, (B, T)
  // int32) and builds the embeddings layer over that packed table. Checks the tokens as the embeddings' forward does.
  void set_batch(backend::Backend& be, const model::Batch& host, Buffer& ids);

  const nn::Layer& layer() const { return *layer_; }             // over the current batch's rows
  const std::vector<std::int32_t>& rows() const { return rows_; }  // the current batch's word rows (sorted)
  std::size_t slab_floats() const;                    // on the device, for the current batch

  // Queues layer 0's slab (the batch's rows, packed, then the rest) from the EPS into `dst` once the EPS has
  // updated those rows; returns the event of the last copy. `elem`: bytes per float on the device.
  backend::Event fetch(backend::Backend& be, EagerParamServer& eps, void* dst, std::size_t elem);
  // Queues the device gradient `grad` (packed rows, then the rest) into the EPS's gradient slab: the rows scattered
  // into the full table, whose rows of the previous batch (summed over ranks: the rows the EPS's sum filled) are
  // zeroed first (the others are zero already). Returns the event of the last copy.
  backend::Event push_grad(backend::Backend& be, EagerParamServer& eps, const float* grad);
  // The same for a model whose word table has a second user (the tied MLM decoder, train/mlm_decoder.h) that has
  // written the whole table's gradient into the EPS's slab this step: the packed rows are added onto it. One process
  // only.
  backend::Event push_grad_onto_table(backend::Backend& be, EagerParamServer& eps, const float* grad);

 private:
  const model::Bert& model_;
  std::size_t table_rows_ = 0, row_floats_ = 0, rest_floats_ = 0;  // its word table (V x C) and what follows it
  std::unique_ptr<nn::EmbeddingLayer> layer_;                      // layer 0 over the current batch's rows
  std::vector<std::int32_t> rows_;                                 // the current batch's word rows
  std::vector<std::int32_t> host_ids_;                             // (B, T) its ids remapped to them
  std::vector<std::int32_t> grad_rows_;  // rows of the EPS's word-table gradient this process wrote
  std::vector<float> staged_;            // (rows, C) the packed rows' gradient on its way onto the table
  bool summed_over_ranks_ = false;
};

}  // namespace strata::train
