// Token rows from data specs (text through SentencePiece or WordPiece, or synthetic), epoch orders and host batches.
#include "strata/app/token_data.h"

#include <algorithm>

#include "strata/core/error.h"
#include "strata/core/rng.h"
#include "strata/data/tokenizer.h"

namespace strata::app {

namespace {

TokenData synthetic_split(const std::string& spec, const std::string& split, int seq_len, std::uint64_t seed) {
  data::TokenDataset train = data::load_synthetic(spec, seq_len, seed);
  TokenData out;
  out.source = spec;
  const int n = train.n, n_test = std::max(1, n / 10);
  if (split == "train") {
    out.tokens = std::move(train);
  } else {
    // Keys later in the spec override earlier ones: the same stream, n + n_test rows; test is the tail.
    data::TokenDataset all = data::load_synthetic(cat(spec, ",n=", n + n_test), seq_len, seed);
    if (split == "test")
      out.tokens = slice_rows(all, n, all.n);
    else if (split == "all")
      out.tokens = std::move(all);
    else
      bad_input("split: expected train, test or all, found '", split, "'");
  }
  out.tokens.classes.clear();
  for (int k = 0; k < out.tokens.num_classes; ++k) out.tokens.classes.push_back(std::to_string(k));
  return out;
}

}  // namespace

bool is_text_spec(const std::string& spec) { return !data::is_synthetic_spec(spec); }

data::TokenDataset slice_rows(const data::TokenDataset& ds, int from, int to) {
  data::TokenDataset out = ds;
  const auto T = static_cast<std::ptrdiff_t>(ds.T);
  out.n = to - from;
  out.ids.assign(ds.ids.begin() + from * T, ds.ids.begin() + to * T);
  out.mask.assign(ds.mask.begin() + from * T, ds.mask.begin() + to * T);
  out.y.assign(ds.y.begin() + from, ds.y.begin() + to);
  return out;
}

TokenData encode_text(const data::TextDataset& text, const std::string& tokenizer_path, int seq_len) {
  const data::Tokenizer tok = data::Tokenizer::load(tokenizer_path);
  TokenData out;
  out.source = text.source;
  out.tokens = tok.encode(text, seq_len, &out.truncated);
  return out;
}

TokenData load_token_data(const std::string& spec, const std::string& split, const std::string& tokenizer_path,
                          int seq_len, std::uint64_t seed) {
  if (!is_text_spec(spec)) return synthetic_split(spec, split, seq_len, seed);
  if (tokenizer_path.empty())
    bad_input(spec, ": text data needs a tokenizer, and the model has none (no tokenizer.model or vocab.txt in its directory)");
  return encode_text(data::load_text(spec, split), tokenizer_path, seq_len);
}

std::vector<std::size_t> epoch_order(std::size_t n, std::uint64_t seed, std::int64_t epoch) {
  std::vector<std::size_t> p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = i;
  Rng rng(derive_seed(seed, 0x0eb0c000ull + static_cast<std::uint64_t>(epoch)));
  for (std::size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng.below(i)]);
  return p;
}

model::Batch HostBatch::fill(const data::TokenDataset& ds, const std::int32_t* labels_src, const std::size_t* rows,
                             int B) {
  const std::size_t T = static_cast<std::size_t>(ds.T);
  ids_.resize(B * T);
  mask_.resize(B * T);
  labels_.resize(B);
  bool padded = false;
  for (int r = 0; r < B; ++r) {
    const std::size_t i = rows[r];
    std::copy_n(ds.ids.data() + i * T, T, ids_.data() + r * T);
    for (std::size_t t = 0; t < T; ++t) {
      const std::uint8_t m = ds.mask[i * T + t];
      mask_[r * T + t] = m;
      padded |= m == 0;
    }
    labels_[r] = labels_src ? labels_src[i] : 0;
  }
  model::Batch b;
  b.B = B;
  b.T = ds.T;
  b.ids = ids_.data();
  b.key_mask = padded ? mask_.data() : nullptr;  // no padding: skip masking altogether
  b.labels = labels_src ? labels_.data() : nullptr;
  return b;
}

}  // namespace strata::app
