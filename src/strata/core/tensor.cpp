// DType names, vectorised bf16 conversion, and TensorView shape helpers.
#include "strata/core/tensor.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "strata/core/error.h"

namespace strata {

const char* dtype_name(DType t) { return t == DType::kF32 ? "f32" : "bf16"; }

DType parse_dtype(std::string_view text, std::string_view what) {
  if (text == "f32" || text == "float32" || text == "fp32") return DType::kF32;
  if (text == "bf16" || text == "bfloat16") return DType::kBF16;
  bad_input(what, ": expected f32 or bf16, found '", text, "'");
}

void f32_to_bf16(const float* in, std::uint16_t* out, std::size_t n) {
  std::size_t i = 0;
#if defined(__AVX2__)
  const __m256i round_bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i quiet = _mm256_set1_epi32(0x00400000);
  auto convert8 = [&](const float* src) {
    __m256i u = _mm256_castps_si256(_mm256_loadu_ps(src));
    __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), one);
    __m256i rounded = _mm256_add_epi32(u, _mm256_add_epi32(round_bias, lsb));
    __m256i r = _mm256_blendv_epi8(rounded, _mm256_or_si256(u, quiet), is_nan);
    return _mm256_srli_epi32(r, 16);  // values in [0, 65535]: packus cannot saturate
  };
  for (; i + 16 <= n; i += 16) {
    __m256i lo = convert8(in + i), hi = convert8(in + i + 8);
    // packus interleaves 128-bit lanes: [lo0-3 hi0-3 lo4-7 hi4-7]; the permute restores order.
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(lo, hi), 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), packed);
  }
#endif
  for (; i < n; ++i) out[i] = f32_to_bf16(in[i]);
}

void bf16_to_f32(const std::uint16_t* in, float* out, std::size_t n) {
  std::size_t i = 0;
#if defined(__AVX2__)
  for (; i + 8 <= n; i += 8) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i)));
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(w, 16)));
  }
#endif
  for (; i < n; ++i) out[i] = bf16_to_f32(in[i]);
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (int i = 0; i < rank; ++i) n *= shape[i];
  return n;
}

float* TensorView::f32() const {
  STRATA_CHECK(dtype == DType::kF32, "tensor is ", str(), ", not f32");
  return static_cast<float*>(data);
}

std::uint16_t* TensorView::bf16() const {
  STRATA_CHECK(dtype == DType::kBF16, "tensor is ", str(), ", not bf16");
  return static_cast<std::uint16_t*>(data);
}

TensorView make_view(void* data, DType dtype, std::initializer_list<std::int64_t> dims, Space space) {
  STRATA_CHECK(dims.size() <= static_cast<std::size_t>(kMaxRank), "rank ", dims.size(), " > ", kMaxRank);
  TensorView v;
  v.data = data;
  v.dtype = dtype;
  v.space = space;
  v.shape.fill(1);
  for (std::int64_t d : dims) {
    STRATA_CHECK(d >= 0, "negative dimension ", d);
    v.shape[v.rank++] = d;
  }
  return v;
}

TensorView TensorView::reshape(std::initializer_list<std::int64_t> dims) const {
  TensorView v = make_view(data, dtype, dims, space);
  STRATA_CHECK(v.numel() == numel(), "cannot reshape ", shape_str(), " to ", v.shape_str());
  return v;
}

TensorView TensorView::slice_rows(std::int64_t begin, std::int64_t end) const {
  STRATA_CHECK(rank >= 1 && 0 <= begin && begin <= end && end <= shape[0], "rows [", begin, ", ", end, ") out of ",
               shape_str());
  TensorView v = *this;
  std::int64_t row = shape[0] == 0 ? 0 : numel() / shape[0];
  v.data = static_cast<char*>(data) + static_cast<std::size_t>(begin * row) * dtype_size(dtype);
  v.shape[0] = end - begin;
  return v;
}

std::string TensorView::shape_str() const {
  std::string s = "(";
  for (int i = 0; i < rank; ++i) s += cat(i ? ", " : "", shape[i]);
  return s + (rank == 1 ? ",)" : ")");
}

std::string TensorView::str() const { return cat(dtype_name(dtype), " ", shape_str(), " on ", space_name(space)); }

TensorView view_of(const Buffer& buf, DType dtype, std::initializer_list<std::int64_t> dims) {
  TensorView v = make_view(buf.data(), dtype, dims, buf.space());
  STRATA_CHECK(v.bytes() <= buf.bytes(), "view ", v.str(), " needs ", v.bytes(), " bytes, buffer holds ", buf.bytes());
  return v;
}

}  // namespace strata
