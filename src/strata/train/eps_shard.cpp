// The eager param-server's sharded optimizer state (--shard-optimizer): each process keeps the moments of its chunk
// of every layer slab; gradients are reduce-scattered, chunks updated, parameters all-gathered. Every collective
// is queued from the thread that pushes gradients (the executor's), in the same order on every process:
// eager: RS(L-1), RS(L-2), AG(L-1), ..., RS(0), AG(1), NORM, AG(0); clipping: RS(L-1..0), NORM, AG(0..L-1).
// A gather waits (on the communication thread) for its layer's update, which never waits for the communication
// thread beyond its own reduce-scatter and NORM, so the queue cannot deadlock.
#include <cmath>

#include "strata/core/error.h"
#include "strata/core/tensor.h"
#include "strata/train/eps.h"

namespace strata::train {

void EagerParamServer::init_shards() {
  const int L = model_.num_layers();
  gathered_.assign(L, dist::Request());
  bf16_stale_.assign(L, 0);
  shards_ = SlabShards(model_, sharded_ ? options_.group : nullptr);
}

// After layer `layer`'s reduce-scatter is queued: the previous layer's gather (eager), and after the last push
// the norm and the remaining gathers.
void EagerParamServer::queue_sharded_follow_ups(int layer, bool last) {
  if (eager() && last_pushed_ >= 0) queue_gather(last_pushed_);  // one layer behind: its update runs meanwhile
  last_pushed_ = layer;
  if (!last) return;
  norm_request_ = options_.group->all_reduce_sum_async(&norm_total_, 1, [this] {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return local_ready_; });
    norm_total_ = local_total_;
  });
  if (eager())
    queue_gather(layer);
  else
    for (int l = 0; l < model_.num_layers(); ++l) queue_gather(l);  // the clipped updates run in forward order
}

void EagerParamServer::queue_gather(int l) {
  const std::size_t off = model_.slab_offset(l);
  gathered_[l] = options_.group->all_gather_async(params_.f32() + off, model_.slab_floats(l), [this, l] {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !pending_[l]; });
  });
  if (!bf16_.empty()) bf16_stale_[l] = 1;
}

void EagerParamServer::finish_gather(int l) const {
  gathered_[l].wait();
  if (!bf16_stale_[l]) return;
  const std::size_t off = model_.slab_offset(l);  // the own chunk converts to the same bits the update wrote
  f32_to_bf16(params_.f32() + off, bf16_.as<std::uint16_t>() + off, model_.slab_floats(l));
  bf16_stale_[l] = 0;
}

double EagerParamServer::sharded_norm_total() {
  norm_request_.wait();
  return norm_total_;
}

}  // namespace strata::train
