// Requests, the group of one, and the world group's choice between it and Open MPI.
#include "strata/dist/process_group.h"

#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>

#include "strata/core/error.h"
#include "strata/core/file.h"

namespace strata::dist {

struct Request::State {
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;
};

bool Request::ready() const {
  if (!state_) return true;
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->done;
}

void Request::wait() const {
  if (!state_) return;
  std::unique_lock<std::mutex> lock(state_->mu);
  state_->cv.wait(lock, [&] { return state_->done; });
  if (state_->error) std::rethrow_exception(state_->error);
}

// Completes a request (from the communication thread).
void complete_request(const std::shared_ptr<Request::State>& s, std::exception_ptr error) {
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->done = true;
    s->error = std::move(error);
  }
  s->cv.notify_all();
}

std::shared_ptr<Request::State> new_request_state() { return std::make_shared<Request::State>(); }

namespace {

class LocalGroup final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  Request all_reduce_sum_async(float*, std::size_t, std::function<void()> before) override {
    if (before) before();
    return {};
  }
  Request reduce_scatter_sum_async(float*, std::size_t, std::function<void()> before) override {
    if (before) before();
    return {};
  }
  Request all_gather_async(float*, std::size_t, std::function<void()> before) override {
    if (before) before();
    return {};
  }
  Request all_reduce_sum_async(double*, std::size_t, std::function<void()> before) override {
    if (before) before();
    return {};
  }
  Request run_async(std::function<void()> fn) override {
    fn();
    return {};
  }
  void broadcast(void*, std::size_t, int root) override {
    if (root != 0) internal_error("broadcast from rank ", root, " in a group of one");
  }
  std::vector<std::string> all_gather(const std::string& mine) override { return {mine}; }
  void barrier() override {}
  CommStats stats() const override { return {}; }
  std::vector<CommInterval> take_intervals() override { return {}; }
  std::unique_ptr<ProcessGroup> duplicate() override { return std::make_unique<LocalGroup>(); }
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
};

}  // namespace

std::unique_ptr<ProcessGroup> make_local_group() { return std::make_unique<LocalGroup>(); }

#ifdef STRATA_HAVE_MPI
std::unique_ptr<ProcessGroup> make_mpi_world();  // mpi_group.cpp
#else
std::unique_ptr<ProcessGroup> make_mpi_world() {
  bad_input("started by mpirun, but this strata was built without MPI (install libopenmpi-dev and rebuild)");
}
#endif

bool launched_by_mpi() {
  const char* n = std::getenv("OMPI_COMM_WORLD_SIZE");
  return n != nullptr && std::atoi(n) > 1;
}

std::string share_root_file(ProcessGroup& g, const std::string& path, const std::string& dest) {
  std::string bytes = g.is_root() ? read_file(path) : std::string();
  std::uint64_t n = bytes.size();
  g.broadcast(&n, sizeof n, 0);
  bytes.resize(n);
  g.broadcast(bytes.data(), n, 0);
  if (g.is_root()) return path;
  write_file_atomic(dest, bytes);
  return dest;
}

ProcessGroup& world() {
  static std::unique_ptr<ProcessGroup> group = launched_by_mpi() ? make_mpi_world() : make_local_group();
  return *group;
}

}  // namespace strata::dist
