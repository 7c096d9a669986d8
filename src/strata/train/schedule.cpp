// LinearWarmupDecay: HF's linear schedule with warm-up, with its argument checks made explicit.
#include "strata/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "strata/core/error.h"

namespace strata::train {

LinearWarmupDecay::LinearWarmupDecay(double peak_lr, std::int64_t total_steps, std::int64_t warmup_steps)
    : peak_(peak_lr), total_(total_steps), warmup_(warmup_steps) {
  if (!(peak_lr >= 0.0) || !std::isfinite(peak_lr))
    bad_input("learning rate: expected a finite value >= 0, found ", peak_lr);
  if (total_steps <= 0) bad_input("total steps: expected > 0, found ", total_steps);
  if (warmup_steps < 0 || warmup_steps > total_steps)
    bad_input("warm-up steps: expected 0..", total_steps, " (the total), found ", warmup_steps);
}

LinearWarmupDecay LinearWarmupDecay::with_warmup_fraction(double peak_lr, std::int64_t total_steps,
                                                          double warmup_fraction) {
  if (!(warmup_fraction >= 0.0 && warmup_fraction <= 1.0))
    bad_input("warm-up fraction: expected a value in [0, 1], found ", warmup_fraction);
  auto warmup = static_cast<std::int64_t>(std::ceil(static_cast<double>(total_steps) * warmup_fraction));
  return LinearWarmupDecay(peak_lr, total_steps, std::min(warmup, std::max<std::int64_t>(total_steps, 0)));
}

double LinearWarmupDecay::lr(std::int64_t steps_done) const {
  if (steps_done < warmup_)
    return peak_ * static_cast<double>(steps_done) / static_cast<double>(std::max<std::int64_t>(1, warmup_));
  double frac =
      static_cast<double>(total_ - steps_done) / static_cast<double>(std::max<std::int64_t>(1, total_ - warmup_));
  return peak_ * std::max(0.0, frac);
}

}  // namespace strata::train
