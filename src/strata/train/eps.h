// The eager param-server (EPS, DESIGN.md §3): owns, in the host space, every layer's fp32 master weights, gradient
// slab and optimizer moments (and, for --device-dtype bf16, the bf16 copies the device runs with). The L2L executor
// fetches a layer's slab before running it, pushes the layer's gradient when its backward is complete, and waits
// for a layer's update only when it needs that layer again.
//
// Eager mode (no global clipping): a layer is updated on the EPS's own threads as soon as its gradient arrives,
// while the device runs the backward of the layers below. With global-norm clipping every gradient is needed first:
// the EPS waits for all of them, computes the norm exactly as the baseline does, then updates the layers in forward
// order, so the next step's forward of layer l waits only for layer l's update.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/core/tensor.h"
#include "strata/core/thread_pool.h"
#include "strata/dist/process_group.h"
#include "strata/model/bert.h"
#include "strata/train/optim.h"
#include "strata/train/row_union.h"
#include "strata/train/slab_shards.h"

namespace strata::train {

struct EpsOptions {
  int threads = 2;  // optimizer threads
  OptimConfig optim;
  DType device_dtype = DType::kF32;  // what fetch() hands out
  // Data parallel: each pushed gradient slab is summed over the group (on its communication thread, as soon as the
  // slab's copy completes) before the layer is measured or updated. Null or a group of one: no reduction.
  dist::ProcessGroup* group = nullptr;
  // --shard-optimizer (data parallel, AdamW): this process keeps the moments of its chunk of each layer slab only
  // (1/N of them). A layer's gradient is reduce-scattered, this process updates its chunk, and the updated
  // parameters are all-gathered before the layer is handed out again.
  bool shard = false;
};

class EagerParamServer {
 public:
  using Clock = std::chrono::steady_clock;
  struct Interval {
    Clock::time_point begin, end;
  };

  EagerParamServer(const model::Bert& model, backend::Backend& be, const EpsOptions& options);
  ~EagerParamServer();  // finishes queued updates
  EagerParamServer(const EagerParamServer&) = delete;
  EagerParamServer& operator=(const EagerParamServer&) = delete;

  bool eager() const { return options_.optim.clip <= 0.0; }
  bool sharded() const { return sharded_; }
  std::size_t host_bytes() const;       // master weights, gradients, moments and bf16 copies
  std::size_t optimizer_bytes() const;  // the moments: 1/N of one process's when sharded

  // The slab the device runs layer l with (fp32 master or its bf16 copy, in the host space) and its size. Call
  // wait_updated(l) first: the slab changes while the layer's update runs.
  const void* fetch(int layer) const;
  std::size_t fetch_bytes(int layer) const;
  // Host memory the executor copies layer l's gradient slab (fp32, slab_floats) into.
  float* grad_slab(int layer);

  // Starts a step: the learning rate its updates use.
  void begin_step(double lr);
  // Data parallel (L2L's compact embeddings): this step's word-table rows on this process (sorted, distinct). Layer
  // 0's gradient is then summed over the union of every process's rows plus the rest of its slab, not over the
  // whole table (the same sum: the other rows must be zero on every process). Collective: every process calls it
  // each step, after begin_step and before push_grad(0); a step without it sums layer 0 whole.
  void set_step_rows(const std::vector<std::int32_t>& rows);
  // After the last push_grad(0)'s reduction: the table rows the gradient slab may hold non-zero values in that this
  // process did not write itself -- the union's rows, or null for the whole table (summed whole over the group).
  // Empty before any data-parallel reduction.
  const std::vector<std::int32_t>* reduced_rows() const;
  // Layer l's gradient for this step is (being) copied into grad_slab(l); `copied` completes when it is there.
  void push_grad(int layer, backend::Event copied);
  // True / blocks until layer l has no update pending.
  bool updated(int layer) const;
  void wait_updated(int layer) const;
  // The step's global gradient norm (before clipping) and whether the update was applied (false: non-finite
  // gradient, skipped). Blocks until every layer's gradient has been pushed and measured, not until the updates ran.
  double wait_grad_norm(bool* applied = nullptr);
  // Blocks until every pushed gradient has been applied.
  void wait_all() const;

  // Rows first (eager AdamW only, whose update is per element): layer 0's leading table -- the word embeddings,
  // table_rows() rows of table_row_floats() -- is the last gradient of a step and the first slab the next forward
  // needs, so its update is the one that cannot overlap compute. wait_rows(rows) returns as soon as the rest of
  // layer 0 and the given rows (sorted, distinct, < table_rows()) hold their update; the other rows are updated
  // while the next forward runs (a forward reads only its batch's rows; the embeddings' backward reads none).
  // Otherwise it is wait_updated(0). The table's update waits for that request (or for wait_updated(0), wait_all()
  // or the destructor) once the rest of layer 0 is done, so the rows are served first even when the next step
  // starts late; updated(0) stays false meanwhile.
  bool rows_first() const { return rows_first_; }
  std::size_t table_rows() const { return table_rows_; }
  std::size_t table_row_floats() const { return row_floats_; }
  void wait_rows(const std::vector<std::int32_t>& rows);

  // Whole-model state as host arrays (model total_floats(), layer-major); m and v may be null. Sharded, read_state
  // gathers the moments from every process: all processes must call it together.
  void read_state(float* params, float* m, float* v) const;
  void write_state(const float* params, const float* m, const float* v, std::int64_t updates_done);
  void read_grads(float* grads) const;
  std::int64_t updates_done() const;

  // Wall-clock intervals of optimizer work since the last call.
  std::vector<Interval> take_update_intervals();

 private:
  struct Task {
    int layer;                           // -1: the clipping pass (norm of all layers, then updates in forward order)
    std::vector<backend::Event> ready;   // the gradient copies to wait for (one, or one per layer)
    std::vector<dist::Request> reduced;  // data parallel: their sums over the group
    double lr;
    std::int64_t t;  // 1-based optimizer step (bias correction)
  };
  void worker();
  void run(Task& task);
  // Data parallel: the slab's sum over the group (sharded: this process's chunk of it), after the copy.
  dist::Request reduce_grad(int layer, const backend::Event& copied);
  void update_layer(int layer, double lr, float scale, std::int64_t t);
  void update_rows_first(double lr, std::int64_t t);  // layer 0, serving wait_rows() requests between chunks
  void set_norm(double sumsq_total);                  // with mu_ held
  // Sharded optimizer state (eps_shard.cpp).
  void init_shards();
  std::size_t update_begin(int l) const { return shards_.begin(l); }
  std::size_t update_floats(int l) const { return shards_.floats(l); }
  std::size_t moment_offset(int l) const { return shards_.moment_offset(l); }
  void queue_sharded_follow_ups(int layer, bool last);
  void queue_gather(int l);
  void finish_gather(int l) const;  // the layer's gather done (and its bf16 copy refreshed)
  double sharded_norm_total();      // blocks for the sum of every process's squared gradient norms

  const model::Bert& model_;
  backend::Backend& be_;
  EpsOptions options_;
  ThreadPool pool_;
  Buffer params_, grads_, m_, v_, bf16_;  // host space, layer-major like the model's parameter vector

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::deque<Task> queue_;
  std::vector<backend::Event> grad_ready_;   // per layer, this step (clipping mode)
  std::vector<dist::Request> grad_reduced_;  // per layer, this step (clipping mode, data parallel)
  std::vector<char> pending_;                // per layer: an update is queued or running
  std::vector<double> sumsq_;                // per layer, this step
  int pushed_ = 0, measured_ = 0;
  bool norm_ready_ = false, applied_ = true;
  double norm_ = 0.0, lr_ = 0.0;
  std::int64_t updates_ = 0;  // optimizer steps applied (bias correction)
  std::int64_t t_ = 1;        // this step's optimizer step number
  std::vector<Interval> intervals_;
  bool rows_first_ = false;
  std::size_t table_rows_ = 0, row_floats_ = 0;
  std::vector<std::int32_t> request_;  // the rows the last wait_rows() asked for
  std::uint64_t request_seq_ = 0, served_seq_ = 0;
  mutable bool flush_ = false;  // a whole-slab wait is pending: do not wait for a request
  bool stop_ = false;
  bool sharded_ = false;
  SlabShards shards_;                                 // this process's chunks (inactive unless sharded)
  std::unique_ptr<dist::ProcessGroup> worker_group_;  // sharded: the optimizer thread's collectives
  std::vector<dist::Request> gathered_;               // per layer: the all-gather of its updated parameters (sharded)
  mutable std::vector<char> bf16_stale_;  // per layer: its bf16 copy awaits the gathered chunks (sharded bf16)
  dist::Request norm_request_;            // sharded: every process's squared norm summed
  double norm_total_ = 0.0;               // its buffer
  double local_total_ = 0.0;              // this process's share (valid once local_ready_)
  bool local_ready_ = false;
  int last_pushed_ = -1;
  std::unique_ptr<RowUnionReduction> row_union_;  // data parallel: layer 0 summed over the rows read
  bool rows_set_ = false;                          // set_step_rows() this step
  bool union_reduced_ = true;                      // the last layer-0 reduction used the union (or none ran)
  std::thread thread_;
};

}  // namespace strata::train
