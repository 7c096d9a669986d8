// What every backend's kernels agree on, so that layers size their memory and draw their dropout masks without
// knowing which backend runs them: the masked-key score, the dropout keying and mask rule, the attention scratch.
// Backend-neutral: nn and the executors include this (through backend.h), never a backend folder's headers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>

#include "strata/core/rng.h"

namespace strata::backend {

// Added to the score of a padded key (mask 0), as Hugging Face does ((1 - mask) * finfo(float32).min): the score is
// absorbed, a partly masked row gives padded keys probability 0, and a fully masked row gives uniform probabilities.
inline constexpr float kMaskedScore = -std::numeric_limits<float>::max();

// Key of one dropout site's counter-based stream: the same (seed, step, layer, micro-batch, site) draws the same mask,
// so a recomputed forward (L2L) and the backward regenerate it without storing it.
inline std::uint64_t dropout_key(std::uint64_t seed, std::int64_t step, int layer, int micro_batch, int site) {
  return derive_seed(seed, step, layer, micro_batch, site);
}

// The mask rule every backend implements: element i of a stream keyed by `key` is dropped when
// philox_uniform(key, i) < p (kept ones are scaled by 1/(1-p)). Counter-based, so a GPU draws the same mask.
// dropout_forward/backward use i = the element's index; attention's dropout on the probabilities (B, NH, T, T) uses
// i = ((b*NH + h)*T + q)*T + k, the element's index in the probabilities.
inline bool dropout_dropped(std::uint64_t key, std::uint64_t i, float p) { return philox_uniform(key, i) < p; }

// Floats of the scratch every backend's attention_forward/backward is handed (a layer sizes its workspace with this,
// without a backend at hand): dropped probabilities and their gradient (then the score gradient), each (B, NH, T, T),
// plus one transposed (HS, T) panel of k (forward) or v (backward) per head: (B, NH, HS, T). A backend that needs
// more must grow this one function, not size its own.
inline std::size_t attention_scratch_floats(int B, int T, int C, int NH) {
  const std::size_t tt = static_cast<std::size_t>(B) * NH * T * T;
  return 2 * tt + static_cast<std::size_t>(B) * T * C;
}

}  // namespace strata::backend
