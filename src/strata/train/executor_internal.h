// Pieces the executors share: device copies of a batch's token arrays, the two ways to walk a device plan (count its
// bytes, allocate its buffers), micro-batch planning with its exit-3 message, and padded inference chunks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/model/bert.h"

namespace strata::train {

// An executor's device plan lays its buffers out with one function, `lay_out(buffers, place)`, that calls
// place(buffer, space, bytes, what) once per buffer (the way nn::Carver sizes and carves with one function). Walked
// with CountBytes it is the planner's footprint; walked with AllocateBuffers it is the allocation. So the bytes the
// planner promises are the bytes allocated.
struct CountBytes {
  Space space;  // the space whose bytes are counted
  std::size_t total = 0;
  void operator()(Buffer& /*unused*/, Space s, std::size_t bytes, const char* /*what*/) {
    if (s == space) total += bytes;
  }
};
struct AllocateBuffers {
  backend::Backend& be;
  void operator()(Buffer& buf, Space s, std::size_t bytes, const char* what) { buf = be.alloc(s, bytes, what); }
};

// Device copies of one batch's token arrays (ids, segment ids, attention mask, labels), reallocated only when the
// batch shape changes.
class DeviceBatch {
 public:
  // Device bytes for a batch of B x T.
  static std::size_t bytes(int B, int T);
  // Its buffers for a batch of B x T, as a plan's lay_out() walks them (count on a scratch DeviceBatch).
  template <class Place>
  void lay_out(int B, int T, Place&& place) {
    const std::size_t n = static_cast<std::size_t>(B) * T;
    place(ids_, Space::kDevice, n * sizeof(std::int32_t), "batch token ids");                            // (B, T)
    place(segs_, Space::kDevice, n * sizeof(std::int32_t), "batch segment ids");                         // (B, T)
    place(mask_, Space::kDevice, n * sizeof(float), "batch attention mask");                             // (B, T)
    place(labels_, Space::kDevice, static_cast<std::size_t>(B) * sizeof(std::int32_t), "batch labels");  // (B)
    B_ = B;
    T_ = T;
  }
  // Copies the host batch in and returns the same batch pointing at device memory (null fields stay null).
  model::Batch upload(backend::Backend& be, const model::Batch& host);
  void release();

 private:
  int B_ = -1, T_ = -1;
  Buffer ids_, segs_, mask_, labels_;
};

// The micro-batch that fits the device budget: `requested` if it divides B and fits, else (0: the largest divisor of
// B that fits); 0 when none does. plan_micro_batch() with the errors.
int fitting_micro_batch(backend::Backend& be, int requested, int B, const std::function<std::size_t(int)>& footprint);

// The micro-batch a step of B x T runs with: `requested` (0: the largest divisor of B whose footprint fits the device
// budget). bad_input when requested does not divide B; resource_error naming the smallest budget that works when
// nothing fits. `who` names the executor and `parts` what its footprint holds, for the message.
int plan_micro_batch(backend::Backend& be, int requested, int B, int T,
                     const std::function<std::size_t(int)>& footprint, const std::string& who,
                     const std::string& parts);

// Host copy of rows [r0, r0 + n) of `src` as a batch of exactly n rows, rows past src.B repeating row r0 (inference
// pads its last chunk so work buffers keep their shape; the padding's outputs are dropped). Labels are not copied.
class PaddedRows {
 public:
  model::Batch take(const model::Batch& src, int r0, int n);

 private:
  std::vector<std::int32_t> ids_, segs_;
  std::vector<float> mask_;
};

// Rows [r0, r0 + b) of a device batch.
model::Batch batch_rows(const model::Batch& batch, int r0, int b);

}  // namespace strata::train
