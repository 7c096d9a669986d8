// Chunks of layer slabs per process, and moments between compact and full layouts.
#include "strata/train/slab_shards.h"

#include <algorithm>

namespace strata::train {

SlabShards::SlabShards(const model::Bert& model, const dist::ProcessGroup* group) : model_(&model) {
  moment_floats_ = model.total_floats();
  if (!group || group->size() == 1) return;
  moment_floats_ = 0;
  for (int l = 0; l < model.num_layers(); ++l) {
    const std::size_t n = model.slab_floats(l);
    chunks_.push_back({group->chunk_begin(n, group->rank()), group->chunk_begin(n, group->rank() + 1), moment_floats_});
    moment_floats_ += chunks_.back().hi - chunks_.back().lo;
  }
}

void SlabShards::gather(dist::ProcessGroup& group, const float* mine, float* full) const {
  for (int l = 0; l < model_->num_layers(); ++l) {
    float* slab = full + model_->slab_offset(l);
    std::copy_n(mine + chunks_[l].at, floats(l), slab + chunks_[l].lo);
    group.all_gather_async(slab, model_->slab_floats(l)).wait();
  }
}

void SlabShards::scatter(const float* full, float* mine) const {
  for (int l = 0; l < model_->num_layers(); ++l) {
    float* dst = mine + chunks_[l].at;
    if (full) std::copy_n(full + model_->slab_offset(l) + chunks_[l].lo, floats(l), dst);
    else std::fill_n(dst, floats(l), 0.0f);
  }
}

}  // namespace strata::train
