// The transformer engine's CPU kernels: forward/backward pairs over caller-owned float32 row-major buffers (llm.c
// style). Every backward ACCUMULATES (+=) into every gradient it writes; callers zero them. Work is split over rows
// with the thread pool and never makes a result depend on the number of threads.
#pragma once
#include <cstddef>
#include <cstdint>

#include "strata/backend/kernel_contract.h"
#include "strata/core/thread_pool.h"

namespace strata::backend::cpu {

// kMaskedScore, dropout_key, the dropout mask rule and attention_scratch_floats are the backend-wide contract
// (backend/kernel_contract.h); the kernels below follow it.
using ::strata::backend::attention_scratch_floats;
using ::strata::backend::dropout_key;
using ::strata::backend::kMaskedScore;

// out = wte[id] + wse[seg] + wpe[t] (Hugging Face's order). segs null with wse given means segment 0 for every
// token (as Hugging Face does without token_type_ids); wse null: no segment embedding.
void embedding_forward(ThreadPool& pool, float* out /*(B*T,C)*/, const std::int32_t* ids /*(B*T)*/,
                       const std::int32_t* segs /*(B*T) or null*/, const float* wte /*(V,C)*/,
                       const float* wpe /*(maxT,C)*/, const float* wse /*(S,C) or null*/, int B, int T, int C);
void embedding_backward(ThreadPool& pool, float* dwte /*(V,C)*/, float* dwpe /*(maxT,C)*/,
                        float* dwse /*(S,C) or null*/, const float* dout /*(B*T,C)*/, const std::int32_t* ids,
                        const std::int32_t* segs, int B, int T, int C);

// Biased variance, as PyTorch. mean and rstd are saved for the backward.
void layernorm_forward(ThreadPool& pool, float* out /*(N,C)*/, float* mean /*(N)*/, float* rstd /*(N)*/,
                       const float* in /*(N,C)*/, const float* w /*(C)*/, const float* b /*(C)*/, int N, int C,
                       float eps);
void layernorm_backward(ThreadPool& pool, float* din /*(N,C)*/, float* dw /*(C)*/, float* db /*(C)*/,
                        const float* dout /*(N,C)*/, const float* in /*(N,C)*/, const float* w /*(C)*/,
                        const float* mean /*(N)*/, const float* rstd /*(N)*/, int N, int C);

// out = in · wᵀ + b with w in PyTorch's (OC, IC) layout; GEMM through backend::sgemm.
void linear_forward(ThreadPool& pool, float* out /*(N,OC)*/, const float* in /*(N,IC)*/, const float* w /*(OC,IC)*/,
                    const float* b /*(OC) or null*/, int N, int IC, int OC);
void linear_backward(ThreadPool& pool, float* din /*(N,IC) or null*/, float* dw /*(OC,IC)*/, float* db /*(OC) or null*/,
                     const float* dout /*(N,OC)*/, const float* in /*(N,IC)*/, const float* w /*(OC,IC)*/, int N,
                     int IC, int OC);

// Multi-head scaled dot-product attention as Hugging Face's BertSelfAttention: scores = q·kᵀ/sqrt(HS) +
// (1 - key_mask)·kMaskedScore, softmax over keys, dropout on the probabilities (element (b,h,i,j) dropped when
// philox_uniform(dropout_key, ((b*NH+h)*T+i)*T+j) < p, kept ones scaled by 1/(1-p)), out = probs·v.
// Head h is columns [h*HS, (h+1)*HS) of q, k, v and out, HS = C/NH. probs saves the softmax before dropout.
void attention_forward(ThreadPool& pool, float* out /*(B,T,C)*/, float* probs /*(B,NH,T,T)*/, const float* q,
                       const float* k, const float* v /*each (B,T,C)*/, const float* key_mask /*(B,T) or null*/, int B,
                       int T, int C, int NH, float dropout_p, std::uint64_t dropout_key,
                       float* scratch /*attention_scratch_floats(B,T,C,NH)*/);
void attention_backward(ThreadPool& pool, float* dq, float* dk, float* dv /*each (B,T,C)*/,
                        const float* dout /*(B,T,C)*/, const float* q, const float* k, const float* v,
                        const float* probs /*(B,NH,T,T)*/, const float* key_mask /*(B,T) or null*/, int B, int T, int C,
                        int NH, float dropout_p, std::uint64_t dropout_key,
                        float* scratch /*attention_scratch_floats(B,T,C,NH)*/);

// GELU, erf form: 0.5·x·(1 + erf(x/√2)) (Hugging Face's "gelu").
void gelu_forward(ThreadPool& pool, float* out, const float* in, std::size_t N);
void gelu_backward(ThreadPool& pool, float* din, const float* in, const float* dout, std::size_t N);

// Inverted dropout: element i dropped when philox_uniform(key, i) < p, kept ones scaled by 1/(1-p). The mask is
// regenerated from the key, never stored. p = 0 is a copy; p = 1 gives zeros; p outside [0, 1] is bad input.
void dropout_forward(ThreadPool& pool, float* out, const float* in, std::size_t N, float p, std::uint64_t key);
void dropout_backward(ThreadPool& pool, float* din, const float* dout, std::size_t N, float p, std::uint64_t key);

// out = a + b.
void residual_forward(ThreadPool& pool, float* out, const float* a, const float* b, std::size_t N);
void residual_backward(ThreadPool& pool, float* da, float* db, const float* dout, std::size_t N);

// Pooler activation; the backward uses the forward's output.
void tanh_forward(ThreadPool& pool, float* out, const float* in, std::size_t N);
void tanh_backward(ThreadPool& pool, float* din, const float* out, const float* dout, std::size_t N);

// out[b] = in[b, 0] (the [CLS] token).
void gather_cls_forward(ThreadPool& pool, float* out /*(B,C)*/, const float* in /*(B,T,C)*/, int B, int T, int C);
void gather_cls_backward(ThreadPool& pool, float* din /*(B,T,C)*/, const float* dout /*(B,C)*/, int B, int T, int C);

// losses[b] = -log softmax(logits[b])[labels[b]]; probs saved for the backward. A label outside [0, K) is bad input.
void softmax_xent_forward(ThreadPool& pool, float* losses /*(B)*/, float* probs /*(B,K)*/,
                          const float* logits /*(B,K)*/, const std::int32_t* labels /*(B)*/, int B, int K);
// dlogits += scale·(probs - onehot(labels)); scale is e.g. 1/(total batch) for a mean loss over micro-batches.
void softmax_xent_backward(ThreadPool& pool, float* dlogits /*(B,K)*/, const float* probs /*(B,K)*/,
                           const std::int32_t* labels /*(B)*/, int B, int K, float scale);

// Softmax cross-entropy over a vocabulary too large for the device, one chunk of columns at a time (the L2L MLM
// decoder): chunk logits (M, Vc) are columns [v0, v0 + Vc) of the (M, V) logits. xent_chunk_forward folds a chunk
// into each row's running statistics stats (M, 4) = (max mx, Σ exp(logit - mx), the label's logit, the best logit)
// and best_idx (M), the first index of the best logit (as std::max_element); start them at (-inf, 0, 0, -inf) and -1.
// After the last chunk: loss = log(Σ) - (label logit - mx), lse = mx + log(Σ). labels are full-vocabulary ids,
// checked against [0, V) by the caller (a label outside the chunk is simply not there).
void xent_chunk_forward(ThreadPool& pool, float* stats /*(M,4)*/, std::int32_t* best_idx /*(M)*/,
                        const float* logits /*(M,Vc)*/, const std::int32_t* labels /*(M)*/, int M, int Vc, int v0);
// dlogits = scale·(exp(logits - lse) - onehot(labels - v0)), WRITTEN (not accumulated); may alias logits.
void xent_chunk_backward(ThreadPool& pool, float* dlogits /*(M,Vc)*/, const float* logits /*(M,Vc)*/,
                         const float* lse /*(M)*/, const std::int32_t* labels /*(M)*/, int M, int Vc, int v0,
                         float scale);

}  // namespace strata::backend::cpu
