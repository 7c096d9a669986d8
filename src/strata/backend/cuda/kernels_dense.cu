// Row and reduction CUDA kernels: embeddings, layer norm, bias-gradient column sums, softmax cross-entropy and the
// attention softmax (forward with the padding mask, backward through dropout). Sums over rows (parameter gradients)
// are split by column with a fixed row partition, so results are deterministic run to run.
#include <cfloat>
#include <cstdint>

#include "strata/backend/cuda/common.cuh"
#include "strata/backend/cuda/launch.h"

namespace strata::backend::cuda {

namespace {

constexpr float kMasked = -FLT_MAX;  // backend/kernel_contract.h's kMaskedScore
constexpr int kColTile = 32, kRowSlices = 16;

__device__ void record_error(DeviceError* err, int code, long long index, long long value) {
  if (err && atomicCAS(&err->code, 0, code) == 0) {
    err->index = index;
    err->value = value;
  }
}

// (B*T, C): out = (wte[id] + wse[seg]) + wpe[t] (Hugging Face's order).
__global__ void embedding_fwd(float* out, const std::int32_t* ids, const std::int32_t* segs, const float* wte,
                              const float* wpe, const float* wse, int T, int C, std::size_t n, DeviceError* err) {
  STRATA_FOR_EACH(i, n) {
    const std::size_t r = i / C, c = i % C;
    const int t = static_cast<int>(r % T), id = ids[r], seg = segs ? segs[r] : 0;
    if (id < 0 || seg < 0) {
      if (c == 0) record_error(err, id < 0 ? 1 : 2, static_cast<long long>(r), id < 0 ? id : seg);
      out[i] = 0.0f;
      continue;
    }
    float x = wte[static_cast<std::size_t>(id) * C + c];
    if (wse) x = x + wse[static_cast<std::size_t>(seg) * C + c];
    out[i] = x + wpe[static_cast<std::size_t>(t) * C + c];
  }
}
// One thread per column: repeated ids add into the same rows, so each column is summed over the tokens in order.
__global__ void embedding_bwd_tables(float* dwte, float* dwse, const float* dout, const std::int32_t* ids,
                                     const std::int32_t* segs, std::size_t rows, int C) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  for (std::size_t r = 0; r < rows; ++r) {
    const float d = dout[r * C + c];
    const int id = ids[r], seg = segs ? segs[r] : 0;
    if (id >= 0) dwte[static_cast<std::size_t>(id) * C + c] += d;
    if (dwse && seg >= 0) dwse[static_cast<std::size_t>(seg) * C + c] += d;
  }
}
// dwpe (T, C) += Σ_b dout[b, t] (one thread per element, b in order).
__global__ void embedding_bwd_positions(float* dwpe, const float* dout, int B, int T, int C) {
  const std::size_t n = static_cast<std::size_t>(T) * C;
  STRATA_FOR_EACH(i, n) {
    float s = 0.0f;
    for (int b = 0; b < B; ++b) s += dout[static_cast<std::size_t>(b) * n + i];
    dwpe[i] += s;
  }
}

// One block per row: two-pass mean and biased variance, then out = (x - mean)·rstd·w + b.
__global__ void layernorm_fwd(float* out, float* mean, float* rstd, const float* in, const float* w, const float* b,
                              int C, float eps) {
  __shared__ float shared[32];
  const std::size_t row = blockIdx.x;
  const float* x = in + row * C;
  float s = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) s += x[c];
  const float m = block_sum(s, shared) / C;
  float ss = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) ss += (x[c] - m) * (x[c] - m);
  const float rs = rsqrtf(block_sum(ss, shared) / C + eps);
  if (threadIdx.x == 0) mean[row] = m, rstd[row] = rs;
  for (int c = threadIdx.x; c < C; c += blockDim.x) out[row * C + c] = fmaf((x[c] - m) * rs, w[c], b[c]);
}
// din += rstd·(dnorm - mean(dnorm) - xhat·mean(dnorm·xhat)), dnorm = dout·w, xhat = (x - mean)·rstd.
__global__ void layernorm_bwd_rows(float* din, const float* dout, const float* in, const float* w, const float* mean,
                                   const float* rstd, int C) {
  __shared__ float shared[32];
  const std::size_t row = blockIdx.x;
  const float* x = in + row * C;
  const float* d = dout + row * C;
  const float m = mean[row], rs = rstd[row];
  float s1 = 0.0f, s2 = 0.0f;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float dn = d[c] * w[c];
    s1 += dn;
    s2 += dn * ((x[c] - m) * rs);
  }
  const float m1 = block_sum(s1, shared) / C, m2 = block_sum(s2, shared) / C;
  for (int c = threadIdx.x; c < C; c += blockDim.x) {
    const float dn = d[c] * w[c], xh = (x[c] - m) * rs;
    din[row * C + c] += (dn - m1 - xh * m2) * rs;
  }
}
// Column sums with a fixed partition: block (kColTile, kRowSlices) owns kColTile columns; slice y sums rows y,
// y + kRowSlices, ...; slices are added in order. With kXhat: acc_a += Σ x·(in - mean)·rstd, acc_b += Σ x.
template <bool kXhat>
__global__ void column_sums_k(float* acc_a, float* acc_b, const float* x, const float* in, const float* mean,
                              const float* rstd, int N, int C) {
  __shared__ float sa[kRowSlices][kColTile + 1], sb[kRowSlices][kColTile + 1];
  const int c = blockIdx.x * kColTile + threadIdx.x;
  float a = 0.0f, b = 0.0f;
  if (c < C) {
    for (int n = threadIdx.y; n < N; n += kRowSlices) {
      const std::size_t at = static_cast<std::size_t>(n) * C + c;
      b += x[at];
      if (kXhat) a += x[at] * ((in[at] - mean[n]) * rstd[n]);
    }
  }
  sa[threadIdx.y][threadIdx.x] = a;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y != 0 || c >= C) return;
  float ta = 0.0f, tb = 0.0f;
  for (int y = 0; y < kRowSlices; ++y) ta += sa[y][threadIdx.x], tb += sb[y][threadIdx.x];
  if (kXhat && acc_a) acc_a[c] += ta;
  if (acc_b) acc_b[c] += tb;
}

// One block per row of logits (B, K): probs = softmax, loss = log Σexp - (logit[y] - max).
__global__ void xent_fwd(float* losses, float* probs, const float* logits, const std::int32_t* labels, int K,
                         DeviceError* err) {
  __shared__ float shared[32];
  const std::size_t row = blockIdx.x;
  const float* l = logits + row * K;
  float* p = probs + row * K;
  float mx = -INFINITY;
  for (int j = threadIdx.x; j < K; j += blockDim.x) mx = fmaxf(mx, l[j]);
  mx = block_max(mx, shared);
  float s = 0.0f;
  for (int j = threadIdx.x; j < K; j += blockDim.x) s += expf(l[j] - mx);
  const float sum = block_sum(s, shared), inv = 1.0f / sum;
  for (int j = threadIdx.x; j < K; j += blockDim.x) p[j] = expf(l[j] - mx) * inv;
  if (threadIdx.x == 0) {
    const int y = labels[row];
    if (y < 0 || y >= K) {
      record_error(err, 3, static_cast<long long>(row), y);
      losses[row] = NAN;
    } else {
      losses[row] = logf(sum) - (l[y] - mx);
    }
  }
}
__global__ void xent_bwd(float* dlogits, const float* probs, const std::int32_t* labels, int B, int K, float scale,
                         DeviceError* err) {
  const std::size_t n = static_cast<std::size_t>(B) * K;
  STRATA_FOR_EACH(i, n) {
    const std::size_t b = i / K;
    const int j = static_cast<int>(i % K), y = labels[b];
    if (y < 0 || y >= K) {
      if (j == 0) record_error(err, 3, static_cast<long long>(b), y);
      continue;
    }
    dlogits[i] += scale * (j == y ? probs[i] - 1.0f : probs[i]);
  }
}

// One block (a power of two of threads, at most 256) per row of a vocabulary chunk: fold the chunk into the row's
// running (max, sum of exp, label logit, best logit) and best index (cpu/kernels.h xent_chunk_forward).
__global__ void xent_chunk_fwd(float* stats, std::int32_t* best_idx, const float* logits, const std::int32_t* labels,
                               int Vc, int v0) {
  __shared__ float sv[256];
  __shared__ int si[256];
  const std::size_t row = blockIdx.x;
  const float* l = logits + row * Vc;
  float bv = -INFINITY;
  int bi = -1;
  for (int j = threadIdx.x; j < Vc; j += blockDim.x)
    if (l[j] > bv) bv = l[j], bi = j;
  sv[threadIdx.x] = bv;
  si[threadIdx.x] = bi;
  __syncthreads();
  for (int w = blockDim.x / 2; w > 0; w /= 2) {
    if (threadIdx.x < w) {
      const float ov = sv[threadIdx.x + w];
      const int oi = si[threadIdx.x + w];
      if (oi >= 0 && (ov > sv[threadIdx.x] || (ov == sv[threadIdx.x] && (si[threadIdx.x] < 0 || oi < si[threadIdx.x]))))
        sv[threadIdx.x] = ov, si[threadIdx.x] = oi;
    }
    __syncthreads();
  }
  const float cmax = sv[0];
  const int carg = si[0];
  float* st = stats + 4 * row;
  const float mx = fmaxf(st[0], cmax);
  __syncthreads();
  float s = 0.0f;
  for (int j = threadIdx.x; j < Vc; j += blockDim.x) s += expf(l[j] - mx);
  const float sum = block_sum(s, sv);
  if (threadIdx.x == 0) {
    st[1] = (st[0] == -INFINITY ? 0.0f : st[1] * expf(st[0] - mx)) + sum;
    st[0] = mx;
    const long long y = static_cast<long long>(labels[row]) - v0;
    if (y >= 0 && y < Vc) st[2] = l[y];
    if (carg >= 0 && cmax > st[3]) st[3] = cmax, best_idx[row] = v0 + carg;
  }
}
__global__ void xent_chunk_bwd(float* dlogits, const float* logits, const float* lse, const std::int32_t* labels, int M,
                               int Vc, int v0, float scale) {
  const std::size_t n = static_cast<std::size_t>(M) * Vc;
  STRATA_FOR_EACH(i, n) {
    const std::size_t r = i / Vc;
    const int j = static_cast<int>(i % Vc);
    dlogits[i] = scale * (expf(logits[i] - lse[r]) - (labels[r] - v0 == j ? 1.0f : 0.0f));
  }
}

// One warp per row of (B, NH, T, T): masked scores -> probabilities, in place.
__global__ void attn_softmax(float* scores, const float* key_mask, int NH, int T, std::size_t rows) {
  const std::size_t row = (static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  float* x = scores + row * T;
  const float* m = key_mask ? key_mask + (row / (static_cast<std::size_t>(NH) * T)) * T : nullptr;
  float mx = -INFINITY;
  for (int j = lane; j < T; j += 32) {
    if (m) x[j] = fmaf(1.0f - m[j], kMasked, x[j]);
    mx = fmaxf(mx, x[j]);
  }
  mx = warp_max(mx);
  float s = 0.0f;
  for (int j = lane; j < T; j += 32) {
    const float e = expf(x[j] - mx);
    x[j] = e;
    s += e;
  }
  const float inv = 1.0f / warp_sum(s);
  for (int j = lane; j < T; j += 32) x[j] *= inv;
}
// One warp per row: g = pd ⊙ g, then g -= P · Σ g.
__global__ void attn_softmax_bwd(float* g, const float* probs, const float* pd, int T, std::size_t rows) {
  const std::size_t row = (static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x & 31;
  if (row >= rows) return;
  float* gi = g + row * T;
  const float* pi = probs + row * T;
  const float* ai = pd + row * T;
  float s = 0.0f;
  for (int j = lane; j < T; j += 32) {
    const float v = ai[j] * gi[j];
    gi[j] = v;
    s += v;
  }
  s = warp_sum(s);
  for (int j = lane; j < T; j += 32) gi[j] -= pi[j] * s;
}

int row_threads(int C) { return C >= 512 ? 256 : (C >= 128 ? 128 : 32); }

}  // namespace

void embedding_forward(cudaStream_t s, float* out, const std::int32_t* ids, const std::int32_t* segs, const float* wte,
                       const float* wpe, const float* wse, int B, int T, int C, DeviceError* err) {
  const std::size_t n = static_cast<std::size_t>(B) * T * C;
  if (n) embedding_fwd<<<blocks_for(n), kThreads, 0, s>>>(out, ids, segs, wte, wpe, wse, T, C, n, err);
}
void embedding_backward(cudaStream_t s, float* dwte, float* dwpe, float* dwse, const float* dout,
                        const std::int32_t* ids, const std::int32_t* segs, int B, int T, int C, DeviceError* err) {
  const std::size_t rows = static_cast<std::size_t>(B) * T;
  if (!rows || !C) return;
  embedding_bwd_tables<<<blocks_for(C, 64), 64, 0, s>>>(dwte, dwse, dout, ids, segs, rows, C);
  embedding_bwd_positions<<<blocks_for(std::size_t(T) * C), kThreads, 0, s>>>(dwpe, dout, B, T, C);
  (void)err;  // the forward of the same ids reported any negative one
}
void layernorm_forward(cudaStream_t s, float* out, float* mean, float* rstd, const float* in, const float* w,
                       const float* b, int N, int C, float eps) {
  if (N > 0 && C > 0) layernorm_fwd<<<N, row_threads(C), 0, s>>>(out, mean, rstd, in, w, b, C, eps);
}
void layernorm_backward(cudaStream_t s, float* din, float* dw, float* db, const float* dout, const float* in,
                        const float* w, const float* mean, const float* rstd, int N, int C) {
  if (N <= 0 || C <= 0) return;
  layernorm_bwd_rows<<<N, row_threads(C), 0, s>>>(din, dout, in, w, mean, rstd, C);
  column_sums_k<true>
      <<<blocks_for(C, kColTile), dim3(kColTile, kRowSlices), 0, s>>>(dw, db, dout, in, mean, rstd, N, C);
}
void column_sums(cudaStream_t s, float* acc, const float* x, int N, int C) {
  if (N <= 0 || C <= 0) return;
  column_sums_k<false>
      <<<blocks_for(C, kColTile), dim3(kColTile, kRowSlices), 0, s>>>(nullptr, acc, x, nullptr, nullptr, nullptr, N, C);
}
void softmax_xent_forward(cudaStream_t s, float* losses, float* probs, const float* logits, const std::int32_t* labels,
                          int B, int K, DeviceError* err) {
  if (B > 0 && K > 0) xent_fwd<<<B, row_threads(K), 0, s>>>(losses, probs, logits, labels, K, err);
}
void softmax_xent_backward(cudaStream_t s, float* dlogits, const float* probs, const std::int32_t* labels, int B, int K,
                           float scale, DeviceError* err) {
  const std::size_t n = static_cast<std::size_t>(B) * K;
  if (n) xent_bwd<<<blocks_for(n), kThreads, 0, s>>>(dlogits, probs, labels, B, K, scale, err);
}
void xent_chunk_forward(cudaStream_t s, float* stats, std::int32_t* best_idx, const float* logits,
                        const std::int32_t* labels, int M, int Vc, int v0) {
  if (M > 0 && Vc > 0) xent_chunk_fwd<<<M, row_threads(Vc), 0, s>>>(stats, best_idx, logits, labels, Vc, v0);
}
void xent_chunk_backward(cudaStream_t s, float* dlogits, const float* logits, const float* lse,
                         const std::int32_t* labels, int M, int Vc, int v0, float scale) {
  const std::size_t n = static_cast<std::size_t>(M) * Vc;
  if (n) xent_chunk_bwd<<<blocks_for(n), kThreads, 0, s>>>(dlogits, logits, lse, labels, M, Vc, v0, scale);
}
void attention_softmax(cudaStream_t s, float* scores, const float* key_mask, int B, int NH, int T) {
  const std::size_t rows = static_cast<std::size_t>(B) * NH * T;
  if (rows) attn_softmax<<<blocks_for(rows * 32), kThreads, 0, s>>>(scores, key_mask, NH, T, rows);
}
void attention_softmax_backward(cudaStream_t s, float* g, const float* probs, const float* pd, int B, int NH, int T) {
  const std::size_t rows = static_cast<std::size_t>(B) * NH * T;
  if (rows) attn_softmax_bwd<<<blocks_for(rows * 32), kThreads, 0, s>>>(g, probs, pd, T, rows);
}

}  // namespace strata::backend::cuda
