// This process's chunk of every layer slab under --shard-optimizer: where it lies in the slab (the chunk the group's
// reduce-scatter leaves summed here) and where its optimizer moments start in the compact per-process moment
// arrays; and moving moments between that compact form and the model's full layout.
#pragma once
#include <cstddef>
#include <vector>

#include "strata/dist/process_group.h"
#include "strata/model/bert.h"

namespace strata::train {

class SlabShards {
 public:
  // group null or of one process: not sharded (every slab whole).
  SlabShards(const model::Bert& model, const dist::ProcessGroup* group);

  bool active() const { return !chunks_.empty(); }
  // Slab-relative [begin, end) of layer l's chunk and its offset in the compact moments (unsharded: the whole slab
  // at the slab's offset).
  std::size_t begin(int l) const { return active() ? chunks_[l].lo : 0; }
  std::size_t floats(int l) const { return active() ? chunks_[l].hi - chunks_[l].lo : model_->slab_floats(l); }
  std::size_t moment_offset(int l) const { return active() ? chunks_[l].at : model_->slab_offset(l); }
  std::size_t moment_floats() const { return moment_floats_; }  // per process

  // Compact moments -> the full layout on every process (a collective: all processes call it together).
  void gather(dist::ProcessGroup& group, const float* mine, float* full) const;
  // The full layout (null: zeros) -> this process's compact moments.
  void scatter(const float* full, float* mine) const;

 private:
  struct Chunk {
    std::size_t lo = 0, hi = 0, at = 0;
  };
  const model::Bert* model_ = nullptr;
  std::vector<Chunk> chunks_;
  std::size_t moment_floats_ = 0;
};

}  // namespace strata::train
