// BERT's masked-language-model corruption (Devlin et al. 2019, as Hugging Face's DataCollatorForLanguageModeling):
// each real, non-special token is chosen with probability mask_prob (15 %); a chosen token is replaced by [MASK]
// with probability 0.8, by a uniformly random vocabulary id with 0.1, and kept with 0.1; its label is the original
// id, every other position's label is kIgnoreLabel (-100). Deterministic: row r's draws depend only on (seed, key, r).
#pragma once
#include <cstdint>
#include <vector>

namespace strata::data {

inline constexpr std::int32_t kIgnoreLabel = -100;

struct MaskingOptions {
  double mask_prob = 0.15;
  int mask_id = -1;                    // [MASK]
  int vocab = 0;                       // random replacements are drawn from [0, vocab)
  std::vector<std::int32_t> specials;  // never chosen ([CLS], [SEP], [PAD], ...)
};

// ids, real: (B, T) input ids and 1/0 for real tokens / padding. Writes out_ids and labels (B, T). key: what makes
// this batch's draws differ from another's (e.g. the step); row r draws from Rng(derive_seed(seed, key, r)).
void mask_tokens(const std::int32_t* ids, const std::uint8_t* real, int B, int T, const MaskingOptions& o,
                 std::uint64_t seed, std::uint64_t key, std::int32_t* out_ids, std::int32_t* labels);

}  // namespace strata::data
