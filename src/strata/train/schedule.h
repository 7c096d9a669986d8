// Learning-rate schedules. LinearWarmupDecay is Hugging Face's get_linear_schedule_with_warmup (the BERT recipe):
// linear warm-up from 0 to the peak, then linear decay to 0 at the last step.
#pragma once
#include <cstdint>

namespace strata::train {

class LinearWarmupDecay {
 public:
  // total_steps > 0 optimizer steps, of which the first warmup_steps (0 <= warmup_steps <= total_steps) warm up.
  LinearWarmupDecay(double peak_lr, std::int64_t total_steps, std::int64_t warmup_steps);
  // Warm-up as a fraction of total_steps, rounded up as HF TrainingArguments' warmup_ratio does.
  static LinearWarmupDecay with_warmup_fraction(double peak_lr, std::int64_t total_steps, double warmup_fraction);

  // Rate for the optimizer step taken after `steps_done` earlier steps (0-based, HF's scheduler counter):
  //   steps_done < warmup: peak * steps_done / warmup   (so the very first step has rate 0 when warmup > 0)
  //   otherwise:           peak * max(0, (total - steps_done) / (total - warmup))
  double lr(std::int64_t steps_done) const;

  double peak_lr() const { return peak_; }
  std::int64_t total_steps() const { return total_; }
  std::int64_t warmup_steps() const { return warmup_; }

 private:
  double peak_;
  std::int64_t total_, warmup_;
};

}  // namespace strata::train
