// Element types (fp32, bf16), bf16 conversion, and TensorView: a non-owning, contiguous, row-major view of up to four
// dimensions over memory in a known space. Ownership stays with Buffer/Arena (memory.h); views are cheap to copy.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "strata/core/memory.h"

namespace strata {

enum class DType : std::uint8_t { kF32, kBF16 };

constexpr std::size_t dtype_size(DType t) { return t == DType::kF32 ? 4 : 2; }
const char* dtype_name(DType t);                                            // "f32", "bf16"
DType parse_dtype(std::string_view text, std::string_view what = "dtype");  // "f32"/"float32", "bf16"/"bfloat16"

// f32 -> bf16 with round-to-nearest-even (as torch's .to(torch.bfloat16)); NaN stays a quiet NaN, infinities stay.
inline std::uint16_t f32_to_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<std::uint16_t>(u >> 16);
}

inline float bf16_to_f32(std::uint16_t h) {
  std::uint32_t u = static_cast<std::uint32_t>(h) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

// Bulk conversions (AVX2 where the build targets it); same results as the scalar functions element by element.
void f32_to_bf16(const float* in, std::uint16_t* out, std::size_t n);
void bf16_to_f32(const std::uint16_t* in, float* out, std::size_t n);

inline constexpr int kMaxRank = 4;

struct TensorView {
  void* data = nullptr;
  DType dtype = DType::kF32;
  std::array<std::int64_t, kMaxRank> shape{};  // dims beyond rank are 1
  int rank = 0;
  Space space = Space::kHost;

  std::int64_t dim(int i) const { return i < 0 ? shape[rank + i] : shape[i]; }  // dim(-1): last dimension
  std::int64_t numel() const;
  std::size_t bytes() const { return static_cast<std::size_t>(numel()) * dtype_size(dtype); }
  // Typed access; throws an internal error when the dtype differs.
  float* f32() const;
  std::uint16_t* bf16() const;
  // Same data, another shape with the same element count (throws otherwise).
  TensorView reshape(std::initializer_list<std::int64_t> dims) const;
  // Rows [begin, end) of the first dimension.
  TensorView slice_rows(std::int64_t begin, std::int64_t end) const;
  std::string shape_str() const;  // "(8, 128, 768)"
  std::string str() const;        // "f32 (8, 128, 768) on device"
};

TensorView make_view(void* data, DType dtype, std::initializer_list<std::int64_t> dims, Space space = Space::kHost);
inline TensorView view_f32(float* data, std::initializer_list<std::int64_t> dims, Space space = Space::kHost) {
  return make_view(data, DType::kF32, dims, space);
}
// A view over a buffer; throws an internal error if the shape needs more bytes than the buffer holds.
TensorView view_of(const Buffer& buf, DType dtype, std::initializer_list<std::int64_t> dims);

}  // namespace strata
