// Harness of the backend conformance suite (ggml's test-backend-ops idea): a GoogleTest fixture parameterised by the
// name of every backend registered in this build, device arrays with guard bytes on both sides (checked, with the
// unchanged inputs, when the array goes away), random inputs, and a normalised error check against the references.
#pragma once
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/core/rng.h"

namespace strata::backend::conformance {

// Normalised mean squared error limits, NMSE = Σ(out - ref)² / Σ ref² (ggml's measure; NaN always fails). fp32
// kernels land near 1e-14 against double references; the limits leave room for a GPU backend's other summation
// orders and fast math, while one wrong element of the small shapes used here (NMSE ~1e-3 or more) fails.
inline constexpr double kElementwise = 1e-7;  // element-wise and per-row ops, optimizer updates
inline constexpr double kGemmLike = 5e-4;     // GEMM, linear, attention (long dot products)
inline constexpr double kReduction = 1e-12;   // norms accumulated in double, returned to the host
inline constexpr double kBf16Storage = 1e-5;  // an fp32 value stored as bf16 (8-bit mantissa: |rel| <= 2^-9)

inline constexpr std::size_t kGuardBytes = 256;

// Guard byte i of an array: a pattern that differs between arrays (salt) and between the two sides, so an op that
// copies one array's guard into another's (an overrun reading past an input) is caught too.
inline unsigned char guard_byte(std::uint64_t salt, std::size_t i) {
  std::uint64_t state = salt * 0x9E3779B97F4A7C15ull + i;
  return static_cast<unsigned char>(splitmix64(state) >> 56);
}
inline std::uint64_t next_guard_salt() {
  static std::atomic<std::uint64_t> salt{1};
  return salt++;
}

// One array of n T's in a memory space of the backend, with kGuardBytes of a known pattern on each side. An input
// array must also come back unchanged; an output array starts as NaN-like poison (0xFF bytes) so an element the op
// should have written and did not fails the comparison.
template <typename T>
class DevArray {
 public:
  enum class Role { kInput, kOutput, kInOut };

  DevArray(Backend& be, const std::vector<T>& init, Role role, std::string what, Space space = Space::kDevice)
      : be_(&be), n_(init.size()), role_(role), what_(std::move(what)), space_(space), init_(init) {
    buf_ = be.alloc(space, total_bytes(), what_);
    std::vector<unsigned char> staged(total_bytes());
    for (std::size_t i = 0; i < kGuardBytes; ++i) {
      staged[i] = guard_byte(salt_, i);
      staged[kGuardBytes + payload_bytes() + i] = guard_byte(salt_, kGuardBytes + i);
    }
    if (role == Role::kOutput)
      std::memset(staged.data() + kGuardBytes, 0xFF, payload_bytes());
    else if (n_)
      std::memcpy(staged.data() + kGuardBytes, init.data(), payload_bytes());
    be.copy_async(buf_.data(), space, staged.data(), Space::kHost, total_bytes()).wait();
  }
  DevArray(Backend& be, std::size_t n, std::string what, Space space = Space::kDevice)
      : DevArray(be, std::vector<T>(n), Role::kOutput, std::move(what), space) {}
  DevArray(const DevArray&) = delete;
  DevArray& operator=(const DevArray&) = delete;
  ~DevArray() {
    std::vector<unsigned char> all = read_all();
    std::size_t before = 0, after = 0;  // overwritten guard bytes on each side
    for (std::size_t i = 0; i < kGuardBytes; ++i) {
      before += all[i] != guard_byte(salt_, i);
      after += all[kGuardBytes + payload_bytes() + i] != guard_byte(salt_, kGuardBytes + i);
    }
    EXPECT_EQ(before + after, 0u) << what_ << ": guard bytes overwritten, " << before << " before the array and "
                                  << after << " after it";
    if (role_ == Role::kInput && n_) {
      EXPECT_EQ(0, std::memcmp(all.data() + kGuardBytes, init_.data(), payload_bytes())) << what_ << ": input changed";
    }
  }

  T* get() const { return reinterpret_cast<T*>(buf_.as<char>() + kGuardBytes); }
  std::size_t size() const { return n_; }
  Space space() const { return space_; }
  std::vector<T> read() const {
    std::vector<T> out(n_);
    be_->synchronize();
    if (n_) be_->copy_async(out.data(), Space::kHost, get(), space_, payload_bytes()).wait();
    return out;
  }

 private:
  std::size_t payload_bytes() const { return n_ * sizeof(T); }
  std::size_t total_bytes() const { return payload_bytes() + 2 * kGuardBytes; }
  std::vector<unsigned char> read_all() const {
    std::vector<unsigned char> all(total_bytes());
    be_->synchronize();
    be_->copy_async(all.data(), Space::kHost, buf_.data(), space_, total_bytes()).wait();
    return all;
  }

  Backend* be_;
  std::size_t n_;
  Role role_;
  std::string what_;
  Space space_;
  std::vector<T> init_;
  std::uint64_t salt_ = next_guard_salt();
  Buffer buf_;
};

using F32 = DevArray<float>;
using I32 = DevArray<std::int32_t>;
using Role = F32::Role;

inline std::vector<float> randn(std::size_t n, std::uint64_t seed, double scale = 1.0) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal() * scale);
  return v;
}

inline std::vector<double> widen(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// NMSE of got against ref below limit (NaN or a size mismatch fails), reporting the worst element.
inline ::testing::AssertionResult nmse_below(const std::string& what, const std::vector<float>& got,
                                             const std::vector<double>& ref, double limit) {
  if (got.size() != ref.size())
    return ::testing::AssertionFailure() << what << ": " << got.size() << " values, expected " << ref.size();
  double num = 0.0, den = 0.0, worst = -1.0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double d = static_cast<double>(got[i]) - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    if (!(std::fabs(d) <= worst)) worst = std::fabs(d), at = i;
  }
  const double nmse = den > 0.0 ? num / den : num;
  if (nmse <= limit) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << ": NMSE " << nmse << " above " << limit << " (worst element " << at
                                       << ": " << (got.empty() ? 0.0f : got[at]) << ", reference "
                                       << (ref.empty() ? 0.0 : ref[at]) << ")";
}

// The fixture: a backend by registered name (skipped, saying why, when it cannot run on this machine).
class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (const BackendEntry& e : registered_backends()) {
      if (GetParam() != e.name) continue;
      if (const std::string why = e.unavailable(); !why.empty())
        GTEST_SKIP() << "backend '" << GetParam() << "' is registered but cannot run here: " << why;
      be_ = e.make(BackendOptions{2});
    }
    ASSERT_TRUE(be_) << "backend '" << GetParam() << "' is not registered";
  }
  void TearDown() override {
    if (be_) be_->synchronize();
  }
  Backend& be() { return *be_; }

 private:
  std::unique_ptr<Backend> be_;
};

inline std::vector<std::string> registered_names() {
  std::vector<std::string> names;
  for (const BackendEntry& e : registered_backends()) names.emplace_back(e.name);
  return names;
}

}  // namespace strata::backend::conformance

// Runs a Conformance-derived suite for every registered backend ("cpu" always; "cuda" in a CUDA build).
#define STRATA_CONFORMANCE_SUITE(Suite)                                                                              \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite, ::testing::ValuesIn(::strata::backend::conformance::registered_names()), \
                           [](const ::testing::TestParamInfo<std::string>& i) { return i.param; })
