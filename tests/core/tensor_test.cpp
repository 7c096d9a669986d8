// DType helpers, bf16 rounding and bulk conversion, TensorView shapes.
#include "strata/core/tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata {
namespace {

float from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::kF32), 4u);
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_STREQ(dtype_name(DType::kBF16), "bf16");
  EXPECT_EQ(parse_dtype("bfloat16"), DType::kBF16);
  EXPECT_EQ(parse_dtype("f32"), DType::kF32);
  EXPECT_THROW(parse_dtype("fp8", "--dtype"), Error);
}

TEST(BF16, RoundsToNearestEven) {
  // Values exactly representable in bf16 round-trip.
  for (float x : {0.0f, -0.0f, 1.0f, -2.5f, 0.15625f, 65536.0f}) EXPECT_EQ(bf16_to_f32(f32_to_bf16(x)), x);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808000u)), 0x3F80u);
  // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even): rounds up.
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F818000u)), 0x3F82u);
  // Just above halfway rounds up, just below rounds down.
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F808001u)), 0x3F81u);
  EXPECT_EQ(f32_to_bf16(from_bits(0x3F807FFFu)), 0x3F80u);
  // Overflow to infinity at the top of the range; infinities and NaN survive.
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80u);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80u);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low bits must not turn into infinity.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(from_bits(0x7F800001u)))));
  // bf16 keeps 8 significant bits: rounding moves a value by at most half an ulp, 2^-8 relative.
  Rng rng(3);
  for (int i = 0; i < 1000; ++i) {
    float x = static_cast<float>(rng.normal() * 100.0);
    EXPECT_LE(std::fabs(bf16_to_f32(f32_to_bf16(x)) - x), std::fabs(x) * 0x1p-8f);
  }
}

TEST(BF16, BulkConversionMatchesScalar) {
  Rng rng(7);
  const std::size_t n = 1037;  // not a multiple of the vector width
  std::vector<float> x(n);
  for (auto& v : x) {
    std::uint32_t bits = static_cast<std::uint32_t>(rng());
    v = from_bits(bits);  // every bit pattern: NaNs, infinities, subnormals, ties
  }
  x[5] = from_bits(0x3F808000u);
  x[6] = from_bits(0x7F800001u);
  std::vector<std::uint16_t> h(n);
  f32_to_bf16(x.data(), h.data(), n);
  for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(h[i], f32_to_bf16(x[i])) << "element " << i;
  std::vector<float> back(n);
  bf16_to_f32(h.data(), back.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    float expect = bf16_to_f32(h[i]);
    ASSERT_EQ(std::memcmp(&back[i], &expect, 4), 0) << "element " << i;
  }
}

TEST(TensorView, ShapesAndBytes) {
  std::vector<float> data(2 * 3 * 4);
  TensorView t = view_f32(data.data(), {2, 3, 4}, Space::kDevice);
  EXPECT_EQ(t.rank, 3);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.bytes(), 96u);
  EXPECT_EQ(t.dim(-1), 4);
  EXPECT_EQ(t.shape_str(), "(2, 3, 4)");
  EXPECT_EQ(t.str(), "f32 (2, 3, 4) on device");
  TensorView r = t.reshape({6, 4});
  EXPECT_EQ(r.numel(), 24);
  EXPECT_EQ(r.data, t.data);
  EXPECT_THROW(t.reshape({5, 5}), Error);
  TensorView s = t.slice_rows(1, 2);
  EXPECT_EQ(s.f32(), data.data() + 12);
  EXPECT_EQ(s.numel(), 12);
  EXPECT_THROW(t.slice_rows(1, 3), Error);
  EXPECT_THROW(t.bf16(), Error);
  EXPECT_EQ(make_view(nullptr, DType::kBF16, {5}).shape_str(), "(5,)");
}

TEST(TensorView, ViewOfBufferChecksSize) {
  Arena a(Space::kStash, "stash");
  Buffer b(a, 64 * 4, "acts");
  TensorView t = view_of(b, DType::kF32, {8, 8});
  EXPECT_EQ(t.space, Space::kStash);
  EXPECT_EQ(t.f32(), b.f32());
  EXPECT_EQ(view_of(b, DType::kBF16, {128}).bytes(), 256u);
  EXPECT_THROW(view_of(b, DType::kF32, {8, 9}), Error);
}

}  // namespace
}  // namespace strata
