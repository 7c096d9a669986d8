// BERT's 15 % / 80-10-10 masking with a counter-keyed generator per row, so a batch masks the same way wherever
// and however often it is built (resume, evaluation, the L2L and baseline executors).
#include "strata/data/mlm_masking.h"

#include <algorithm>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::data {

void mask_tokens(const std::int32_t* ids, const std::uint8_t* real, int B, int T, const MaskingOptions& o,
                 std::uint64_t seed, std::uint64_t key, std::int32_t* out_ids, std::int32_t* labels) {
  if (o.mask_id < 0 || o.vocab <= 0) bad_input("MLM masking needs a [MASK] token and a vocabulary");
  if (!(o.mask_prob > 0.0 && o.mask_prob < 1.0)) bad_input("--mask-prob must be in (0, 1), given ", o.mask_prob);
  for (int r = 0; r < B; ++r) {
    Rng rng(derive_seed(derive_seed(seed, key), static_cast<std::uint64_t>(r)));
    for (int t = 0; t < T; ++t) {
      const std::size_t i = static_cast<std::size_t>(r) * T + t;
      out_ids[i] = ids[i];
      labels[i] = kIgnoreLabel;
      // Every position draws the same number of values, chosen or not, so one row's masks do not shift another's.
      const double choose = rng.uniform(), how = rng.uniform();
      const auto random_id = static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(o.vocab)));
      const bool special = std::find(o.specials.begin(), o.specials.end(), ids[i]) != o.specials.end();
      if (!real[i] || special || choose >= o.mask_prob) continue;
      labels[i] = ids[i];
      if (how < 0.8)
        out_ids[i] = o.mask_id;
      else if (how < 0.9)
        out_ids[i] = random_id;
    }
  }
}

}  // namespace strata::data
