// Process groups for data-parallel training (DESIGN.md §2, dist/): rank and size, collectives on host buffers run
// in order on one communication thread (non-blocking for the caller), and failure propagation. Under `mpirun` the
// world group spans the job's processes over Open MPI; otherwise it is a group of one whose collectives are no-ops,
// so a plain `strata` run behaves exactly as a single process.
#pragma once
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace strata::dist {

// Completion of a queued collective. A default-constructed request is complete. Copyable (shared state).
class Request {
 public:
  struct State;
  Request() = default;
  explicit Request(std::shared_ptr<State> s) : state_(std::move(s)) {}
  bool ready() const;
  // Blocks until the collective is done; rethrows its failure.
  void wait() const;

 private:
  std::shared_ptr<State> state_;
};

// Bytes and time the group's reductions took since construction (report figures).
struct CommInterval {
  std::chrono::steady_clock::time_point begin, end;
};

struct CommStats {
  std::size_t reduce_bytes = 0;  // payload bytes reduced (per rank)
  double reduce_seconds = 0.0;   // wall time the communication thread spent in reductions
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool is_root() const { return rank() == 0; }

  // Sums data (n floats) over the ranks, in place, queued on the communication thread after everything queued
  // before; `before` (if any) runs first on that thread (e.g. waiting for the copy that fills data). The order of
  // summation is fixed (a ring), so a result at a given size is bit-identical run to run, whatever the timing.
  virtual Request all_reduce_sum_async(float* data, std::size_t n, std::function<void()> before = {}) = 0;
  void all_reduce_sum(float* data, std::size_t n) { all_reduce_sum_async(data, n).wait(); }
  // The two halves of that ring, for sharded state. Chunk r of n floats is [chunk_begin(n, r), chunk_begin(n, r + 1))
  // and belongs to rank r. reduce_scatter: afterwards rank r's chunk of data holds the sum over the ranks (the same
  // bits as all_reduce_sum gives; the rest of data is scratch). all_gather: every rank's chunk to every rank.
  // Boundaries fall on multiples of 8 floats, so vectorised kernels split a chunk as they split the whole slab (the
  // same bits either way).
  std::size_t chunk_begin(std::size_t n, int r) const {
    if (r >= size()) return n;
    return n * static_cast<std::size_t>(r) / static_cast<std::size_t>(size()) / 8 * 8;
  }
  virtual Request reduce_scatter_sum_async(float* data, std::size_t n, std::function<void()> before = {}) = 0;
  virtual Request all_gather_async(float* data, std::size_t n, std::function<void()> before = {}) = 0;
  // Sums of a few doubles in the queue's order (after `before`), same fixed order on every rank.
  virtual Request all_reduce_sum_async(double* data, std::size_t n, std::function<void()> before = {}) = 0;
  // Blocking sums of a few doubles (losses, counts).
  void all_reduce_sum(double* data, std::size_t n) { all_reduce_sum_async(data, n).wait(); }
  // Local work (no communication) on the communication thread after everything queued before it, e.g. unpacking
  // what a queued collective summed. The request completes when fn has run; fn's exception fails it.
  virtual Request run_async(std::function<void()> fn) = 0;
  // Blocking: root's bytes to every rank.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  // Blocking: every rank's string, in rank order, on every rank.
  virtual std::vector<std::string> all_gather(const std::string& mine) = 0;
  virtual void barrier() = 0;
  virtual CommStats stats() const = 0;
  // Wall-clock intervals the communication thread spent in float collectives since the last call.
  virtual std::vector<CommInterval> take_intervals() = 0;
  // A new group over the same processes with its own communication thread, so collectives issued on it from another
  // thread never interleave with this group's. Collective: every process calls it, in the same order.
  virtual std::unique_ptr<ProcessGroup> duplicate() = 0;
  // Ends the whole job now: the launcher stops every process and exits with `code`.
  [[noreturn]] virtual void abort(int code) = 0;
};

// The process's world group: Open MPI's when this process was started by mpirun (and the build has MPI), else a
// group of one. Created on first use; lives until the process exits.
ProcessGroup& world();
// True when started by mpirun with more than one process (without creating the group).
bool launched_by_mpi();

// Rank 0's file `path` as a file on every rank: the other ranks receive its bytes and write them to `dest`. Returns
// the local path (path on rank 0, dest elsewhere). Collective.
std::string share_root_file(ProcessGroup& g, const std::string& path, const std::string& dest);

// A group of one (for tests and plain runs).
std::unique_ptr<ProcessGroup> make_local_group();

}  // namespace strata::dist
