// Random numbers. Rng: a fast sequential generator (xoshiro256**) seeded through splitmix64.
// philox: a counter-based generator, so a value depends only on (key, counter) — used where a recomputation
// must draw the same numbers (dropout keyed by seed/step/layer/micro-batch) or where results must not depend on
// the thread count (one stream per tree, per replicate).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>

#include "strata/core/philox.h"

namespace strata {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Mixes several integers into one seed: derive_seed(seed, tree_index, ...).
template <typename... Ts>
std::uint64_t derive_seed(std::uint64_t seed, Ts... parts) {
  std::uint64_t s = seed;
  std::uint64_t out = splitmix64(s);
  ((s ^= static_cast<std::uint64_t>(parts) * 0xD1B54A32D192ED03ull, out ^= splitmix64(s)), ...);
  return out;
}

class Rng {
 public:
  using result_type = std::uint64_t;
  explicit Rng(std::uint64_t seed = 0) {
    std::uint64_t s = seed;
    for (auto& w : s_) w = splitmix64(s);
  }
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>((*this)() >> 11) * 0x1.0p-53; }
  // Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; negligible bias for n << 2^64).
  std::uint64_t below(std::uint64_t n) {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>((*this)()) * n) >> 64);
  }
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2.0 * uniform() - 1.0;
      v = 2.0 * uniform() - 1.0;
      s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double m = std::sqrt(-2.0 * std::log(s) / s);
    spare_ = v * m;
    has_spare_ = true;
    return u * m;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Philox4x32-10: four 32-bit outputs for a 128-bit counter under a 64-bit key (core/philox.h, host and device).
inline std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> ctr, std::uint64_t key64) {
  philox4x32_10(ctr.data(), key64);
  return ctr;
}

// Uniform float in [0, 1) for element i of the stream keyed by key.
inline float philox_uniform(std::uint64_t key, std::uint64_t i) { return philox_uniform_hd(key, i); }

}  // namespace strata
