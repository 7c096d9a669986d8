// Token rows ready for a model: a data spec's split encoded with a tokenizer (or generated, for synthetic specs),
// the seeded row order of each epoch, and host batches of rows for the executors.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "strata/data/text.h"
#include "strata/model/bert.h"

namespace strata::app {

// Token rows for a data spec's split, ready for a model: text is encoded with the tokenizer (required for text
// data: bad_input when tokenizer_path is empty), synthetic data generated (test = the n/10 rows the generator draws
// after the n training rows). Synthetic classes are named "0".."K-1".
struct TokenData {
  data::TokenDataset tokens;
  int truncated = 0;  // rows whose text did not fit seq_len
  std::string source;
};
TokenData load_token_data(const std::string& spec, const std::string& split, const std::string& tokenizer_path,
                          int seq_len, std::uint64_t seed);
bool is_text_spec(const std::string& spec);
// Rows [from, to) of a token data set (classes and vocabulary kept).
data::TokenDataset slice_rows(const data::TokenDataset& ds, int from, int to);
// Encodes already loaded texts.
TokenData encode_text(const data::TextDataset& text, const std::string& tokenizer_path, int seq_len);

// Epoch e's row order: a seeded Fisher-Yates permutation, a function of (seed, e) only, so a resumed run sees the
// same batches as an uninterrupted one.
std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::int64_t epoch);

// Host arrays of one batch of rows; the returned model::Batch points into them until the next fill().
class HostBatch {
 public:
  // Rows rows[0..B) of ds; labels_src (per row of ds) or null for unlabelled batches.
  model::Batch fill(const data::TokenDataset& ds, const std::int32_t* labels_src, const std::size_t* rows, int B);

 private:
  std::vector<std::int32_t> ids_, labels_;  // (B, T), (B)
  std::vector<float> mask_;                 // (B, T)
};

}  // namespace strata::app
