// Philox4x32-10 as plain scalar code that compiles for the host and, under nvcc, for the device: the one definition
// of the counter-based stream behind dropout masks (core/rng.h's philox_uniform forwards here), so the CPU and CUDA
// backends draw the same mask bit for bit.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define STRATA_HOST_DEVICE __host__ __device__
#else
#define STRATA_HOST_DEVICE
#endif

namespace strata {

// Rounds of Philox4x32-10 (Salmon et al. 2011) on ctr[0..3] in place, under the 64-bit key (low word first).
STRATA_HOST_DEVICE inline void philox4x32_10(std::uint32_t ctr[4], std::uint64_t key64) {
  std::uint32_t k0 = static_cast<std::uint32_t>(key64), k1 = static_cast<std::uint32_t>(key64 >> 32);
  for (int r = 0; r < 10; ++r) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(0xD2511F53u) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(0xCD9E8D57u) * ctr[2];
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    const std::uint32_t c1 = ctr[1], c3 = ctr[3];
    ctr[0] = hi1 ^ c1 ^ k0;
    ctr[1] = lo1;
    ctr[2] = hi0 ^ c3 ^ k1;
    ctr[3] = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// Uniform float in [0, 1) for element i of the stream keyed by key: the top 24 bits of the first output word.
STRATA_HOST_DEVICE inline float philox_uniform_hd(std::uint64_t key, std::uint64_t i) {
  std::uint32_t ctr[4] = {static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(i >> 32), 0u, 0u};
  philox4x32_10(ctr, key);
  return static_cast<float>(ctr[0] >> 8) * 0x1.0p-24f;
}

// The dropout mask rule of backend/kernel_contract.h: element i is dropped when its uniform is below p.
STRATA_HOST_DEVICE inline bool philox_dropped(std::uint64_t key, std::uint64_t i, float p) {
  return philox_uniform_hd(key, i) < p;
}

}  // namespace strata
