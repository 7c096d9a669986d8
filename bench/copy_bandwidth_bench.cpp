// Copy bandwidth of a backend's asynchronous copies between the host space (pinned memory on CUDA) and the device:
// host->device alone, device->host alone, and both at once (the L2L relay prefetches one layer while the previous
// gradient goes back). The figure that the L2L executor's bytes over PCIe per step are set against.
//   copy_bandwidth_bench [--backend cpu|cuda] [--mib 256] [--reps 10]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/core/error.h"

using namespace strata;

namespace {

// Best of `reps` timings of fn() in seconds (after one warm-up call).
template <typename Fn>
double best_seconds(int reps, Fn fn) {
  fn();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = "cpu";
  std::size_t mib = 256;
  int reps = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--backend")
      name = argv[i + 1];
    else if (a == "--mib")
      mib = static_cast<std::size_t>(std::atol(argv[i + 1]));
    else if (a == "--reps")
      reps = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "copy_bandwidth_bench: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  try {
    auto be = backend::make_backend(name, backend::BackendOptions{2});
    const std::size_t bytes = mib << 20;
    Buffer h_up = be->alloc(Space::kHost, bytes, "host source"), h_down = be->alloc(Space::kHost, bytes, "host dest");
    Buffer d_up = be->alloc(Space::kDevice, bytes, "device dest"),
           d_down = be->alloc(Space::kDevice, bytes, "device src");
    std::memset(h_up.data(), 1, bytes);
    be->zero(d_down.data(), Space::kDevice, bytes);
    be->synchronize();
    const double up = best_seconds(reps, [&] { be->copy_async(d_up, h_up).wait(); });
    const double down = best_seconds(reps, [&] { be->copy_async(h_down, d_down).wait(); });
    const double both = best_seconds(reps, [&] {
      backend::Event a = be->copy_async(d_up, h_up), b = be->copy_async(h_down, d_down);
      a.wait();
      b.wait();
    });
    const double gb = static_cast<double>(bytes) / 1e9;
    std::printf("backend %s, %zu MiB per copy, best of %d\n", be->name().c_str(), mib, reps);
    std::printf("host_to_device_GBps %.2f\n", gb / up);
    std::printf("device_to_host_GBps %.2f\n", gb / down);
    std::printf("both_directions_GBps %.2f\n", 2 * gb / both);
  } catch (const Error& e) {
    std::fprintf(stderr, "copy_bandwidth_bench: %s\n", e.what());
    return static_cast<int>(e.code());
  }
  return 0;
}
