// Pieces the executors share: device copies of a batch's token arrays.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/model/bert.h"

namespace strata::train {

// Device copies of one batch's token arrays (ids, segment ids, attention mask, labels), reallocated only when the
// batch shape changes.
class DeviceBatch {
 public:
  // Device bytes for a batch of B x T.
  static std::size_t bytes(int B, int T);
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
