// CpuBackend: factory, device budget through the backend, asynchronous copies (correctness, FIFO order, events,
// traffic counters), GEMM and kernel forwarding, thread settings.
#include "strata/backend/cpu/cpu_backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "strata/core/error.h"
#include "strata/core/rng.h"

namespace strata::backend {
namespace {

TEST(MakeBackend, CpuAndClearErrors) {
  ASSERT_FALSE(registered_backends().empty());
  EXPECT_EQ(std::string(registered_backends()[0].name), "cpu");  // always built, listed first
  EXPECT_EQ(registered_backends()[0].unavailable(), "");
  auto be = make_backend("cpu", BackendOptions{2, 1 << 20});
  EXPECT_EQ(be->name(), "cpu");
  EXPECT_EQ(be->threads(), 2);
  EXPECT_EQ(be->memory().device().budget(), 1u << 20);
  // "cuda" in a build with the CUDA backend: cuda_registry_test.cpp.
  const bool cuda_built = std::any_of(registered_backends().begin(), registered_backends().end(),
                                      [](const BackendEntry& e) { return std::string(e.name) == "cuda"; });
  if (!cuda_built) {
    try {
      make_backend("cuda");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput);
      EXPECT_NE(std::string(e.what()).find("-DSTRATA_CUDA=ON"), std::string::npos) << e.what();
    }
  }
  try {
    make_backend("tpu");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find("'tpu'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cpu"), std::string::npos) << "lists the registered backends: " << e.what();
  }
}

TEST(CpuBackend, DeviceBudgetIsEnforcedAndPeakMeasured) {
  CpuBackend be(BackendOptions{1, 3 << 20});
  {
    Buffer a = be.alloc(Space::kDevice, 2 << 20, "slot 0");
    Buffer h = be.alloc(Space::kHost, 8 << 20, "master");  // host is unlimited
    try {
      Buffer b = be.alloc(Space::kDevice, 2 << 20, "slot 1");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kResource);
      EXPECT_NE(std::string(e.what()).find("'slot 1'"), std::string::npos);
    }
    Buffer c = be.alloc(Space::kDevice, 1 << 20, "slot 1 (smaller)");
    EXPECT_EQ(be.memory().device().current(), 3u << 20);
  }
  EXPECT_EQ(be.memory().device().current(), 0u);
  EXPECT_EQ(be.memory().device().peak(), 3u << 20);
}

TEST(CpuBackend, CopiesArriveAndCountTraffic) {
  CpuBackend be(BackendOptions{1, 0});
  const std::size_t n = 100000;
  Buffer host = be.alloc(Space::kHost, n * 4, "host");
  Buffer dev = be.alloc(Space::kDevice, n * 4, "device");
  Buffer stash = be.alloc(Space::kStash, n * 4, "stash");
  Buffer back = be.alloc(Space::kHost, n * 4, "back");
  for (std::size_t i = 0; i < n; ++i) host.f32()[i] = static_cast<float>(i) * 0.5f;

  Event up = be.copy_async(dev, host);
  be.wait(up);
  EXPECT_TRUE(up.ready());
  EXPECT_EQ(std::memcmp(dev.data(), host.data(), n * 4), 0);
  // Offsets: second half of device -> first half of stash.
  be.wait(be.copy_async(stash, 0, dev, n * 2, n * 2));
  EXPECT_EQ(std::memcmp(stash.data(), host.as<char>() + n * 2, n * 2), 0);
  be.wait(be.copy_async(back, dev));
  EXPECT_EQ(std::memcmp(back.data(), host.data(), n * 4), 0);
  be.wait(be.copy_async(back, host));  // host -> host

  Traffic t = be.traffic();
  EXPECT_EQ(t.to_device, n * 4);
  EXPECT_EQ(t.from_device, n * 4 + n * 2);
  EXPECT_EQ(be.bytes_to_device(), n * 4);
  EXPECT_EQ(be.bytes_from_device(), n * 6);
  EXPECT_EQ(t.host_side, n * 4);
  EXPECT_EQ(t.copies, 4u);
  be.reset_traffic();
  EXPECT_EQ(be.traffic().to_device, 0u);

  EXPECT_THROW(be.copy_async(stash, n * 2 + 4, dev, 0, n * 2), Error);  // overruns the destination
  EXPECT_THROW(be.copy_async(stash, 0, dev, n * 4, 1), Error);          // overruns the source
  Buffer small = be.alloc(Space::kDevice, 8, "small");
  EXPECT_THROW(be.copy_async(small, host), Error);  // sizes differ
  EXPECT_EQ(be.traffic().copies, 0u);
}

// Gathered rows arrive packed in list order, scattered rows land at their index and nowhere else; both run in queue
// order with plain copies and count the bytes moved.
TEST(CpuBackend, RowCopiesGatherAndScatterOnlyTheListedRows) {
  CpuBackend be(BackendOptions{1, 0});
  const std::size_t rows = 50, width = 12, row_bytes = width * 4;
  Buffer table = be.alloc(Space::kHost, rows * row_bytes, "host table");
  Buffer packed = be.alloc(Space::kDevice, 4 * row_bytes, "device rows");
  Buffer back = be.alloc(Space::kHost, rows * row_bytes, "host table, scattered back");
  for (std::size_t i = 0; i < rows * width; ++i) table.f32()[i] = static_cast<float>(i);
  std::fill_n(back.f32(), rows * width, -1.0f);
  const std::vector<std::int32_t> pick{7, 0, 49, 23};
  be.gather_rows_async(packed.data(), Space::kDevice, table.data(), Space::kHost, pick, row_bytes);
  be.scatter_rows_async(back.data(), Space::kHost, packed.data(), Space::kDevice, pick, row_bytes).wait();  // FIFO
  for (std::size_t i = 0; i < pick.size(); ++i)
    for (std::size_t j = 0; j < width; ++j)
      ASSERT_EQ(packed.f32()[i * width + j], static_cast<float>(pick[i] * width + j)) << i << " " << j;
  for (std::size_t r = 0; r < rows; ++r) {
    const bool picked = std::find(pick.begin(), pick.end(), static_cast<std::int32_t>(r)) != pick.end();
    for (std::size_t j = 0; j < width; ++j)
      ASSERT_EQ(back.f32()[r * width + j], picked ? static_cast<float>(r * width + j) : -1.0f) << r << " " << j;
  }
  EXPECT_EQ(be.traffic().to_device, pick.size() * row_bytes);
  EXPECT_EQ(be.traffic().from_device, pick.size() * row_bytes);
  EXPECT_EQ(be.traffic().copies, 2u);
  EXPECT_TRUE(be.gather_rows_async(packed.data(), Space::kDevice, table.data(), Space::kHost, {}, row_bytes).ready());
  EXPECT_THROW(be.gather_rows_async(packed.data(), Space::kDevice, table.data(), Space::kHost, {3, -1}, row_bytes),
               Error);
}

// Copies run in queue order: a chain where each copy reads what the previous one wrote is only correct if the
// queue is FIFO. Only the last event is waited on.
TEST(CpuBackend, CopiesRunInQueueOrder) {
  CpuBackend be(BackendOptions{2, 0});
  const std::size_t n = 1 << 16, hops = 64;
  std::vector<Buffer> slots;
  for (std::size_t i = 0; i <= hops; ++i)
    slots.push_back(be.alloc(i % 2 ? Space::kDevice : Space::kStash, n * 4, "hop"));
  Rng rng(5);
  for (std::size_t i = 0; i < n; ++i) slots[0].f32()[i] = static_cast<float>(rng.uniform());
  std::vector<Event> events;
  for (std::size_t i = 0; i < hops; ++i) events.push_back(be.copy_async(slots[i + 1], slots[i]));
  events.back().wait();
  for (const Event& e : events) EXPECT_TRUE(e.ready());  // earlier copies finished before the last
  EXPECT_EQ(std::memcmp(slots[hops].data(), slots[0].data(), n * 4), 0);
  EXPECT_EQ(be.traffic().to_device, hops / 2 * n * 4);
  EXPECT_EQ(be.traffic().from_device, hops / 2 * n * 4);
}

TEST(CpuBackend, RecordAndSynchronizeCoverEverythingQueued) {
  CpuBackend be(BackendOptions{1, 0});
  const std::size_t n = 1 << 14, k = 200;
  Buffer src = be.alloc(Space::kHost, n * k * 4, "src");
  Buffer dst = be.alloc(Space::kDevice, n * k * 4, "dst");
  for (std::size_t i = 0; i < n * k; ++i) src.f32()[i] = static_cast<float>(i % 977);
  for (std::size_t c = 0; c < k; ++c) be.copy_async(dst, c * n * 4, src, c * n * 4, n * 4);
  Event all = be.record();
  all.wait();
  EXPECT_EQ(std::memcmp(dst.data(), src.data(), n * k * 4), 0);
  std::memset(dst.data(), 0, n * k * 4);
  for (std::size_t c = 0; c < k; ++c) be.copy_async(dst, c * n * 4, src, c * n * 4, n * 4);
  be.synchronize();
  EXPECT_EQ(std::memcmp(dst.data(), src.data(), n * k * 4), 0);
  EXPECT_EQ(be.bytes_to_device(), 2 * n * k * 4);
  Event empty;
  EXPECT_TRUE(empty.ready());
  be.zero(dst.data(), Space::kDevice, n * 4);
  EXPECT_EQ(dst.f32()[0], 0.0f);
  EXPECT_EQ(dst.f32()[n - 1], 0.0f);
  EXPECT_EQ(dst.f32()[n], src.f32()[n]);
}

TEST(CpuBackend, DestructorFinishesQueuedCopies) {
  const std::size_t n = 1 << 18;
  std::vector<float> src(n, 3.0f), dst(n, 0.0f);
  {
    CpuBackend be(BackendOptions{1, 0});
    for (int r = 0; r < 8; ++r) be.copy_async(dst.data(), Space::kDevice, src.data(), Space::kHost, n * 4);
  }
  EXPECT_EQ(dst[n - 1], 3.0f);
}

TEST(CpuBackend, GemmMatchesNaive) {
  CpuBackend be(BackendOptions{2, 0});
  const int m = 7, n = 5, k = 9, batch = 3;
  Rng rng(11);
  std::vector<float> a(batch * m * k), b(batch * n * k), c(batch * m * n, 1.0f);
  for (auto& x : a) x = static_cast<float>(rng.normal());
  for (auto& x : b) x = static_cast<float>(rng.normal());
  // C = 2 * A * B^T + 1 * C for each batch entry, B stored (n, k).
  be.sgemm_strided_batched(false, true, m, n, k, 2.0f, a.data(), k, m * k, b.data(), k, n * k, 1.0f, c.data(), n, m * n,
                           batch);
  for (int t = 0; t < batch; ++t)
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) {
        double s = 0;
        for (int l = 0; l < k; ++l) s += a[t * m * k + i * k + l] * b[t * n * k + j * k + l];
        EXPECT_NEAR(c[t * m * n + i * n + j], 2 * s + 1, 1e-4);
      }
  std::vector<float> c2(m * n);
  be.sgemm(false, true, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c2.data(), n);
  for (int j = 0; j < m * n; ++j) EXPECT_NEAR(2 * c2[j] + 1, c[j], 1e-4);
}

TEST(CpuBackend, ForwardsKernels) {
  CpuBackend be(BackendOptions{2, 0});
  const std::size_t n = 1000;
  std::vector<float> a(n), b(n), out(n), da(n, 1.0f), db(n, 0.0f), dout(n);
  for (std::size_t i = 0; i < n; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 0.5f;
    dout[i] = static_cast<float>(i % 7);
  }
  be.residual_forward(out.data(), a.data(), b.data(), n);
  EXPECT_EQ(out[10], 10.5f);
  be.residual_backward(da.data(), db.data(), dout.data(), n);  // accumulates
  EXPECT_EQ(da[9], 1.0f + 2.0f);
  EXPECT_EQ(db[9], 2.0f);
  // linear: out (2, 3) = in (2, 4) * w^T with w (3, 4) + b.
  std::vector<float> in = {1, 2, 3, 4, 0, 1, 0, -1}, w(12), bias = {1, 2, 3}, lin(6);
  for (int i = 0; i < 12; ++i) w[i] = static_cast<float>(i % 5) - 1.0f;
  be.linear_forward(lin.data(), in.data(), w.data(), bias.data(), 2, 4, 3);
  for (int r = 0; r < 2; ++r)
    for (int o = 0; o < 3; ++o) {
      float s = bias[o];
      for (int i = 0; i < 4; ++i) s += in[r * 4 + i] * w[o * 4 + i];
      EXPECT_NEAR(lin[r * 3 + o], s, 1e-5);
    }
  EXPECT_EQ(attention_scratch_floats(2, 8, 16, 2), 2u * (2 * 2 * 8 * 8) + 2 * 8 * 16);  // the backend-wide contract
}

TEST(CpuBackend, SetThreadsResizesThePool) {
  CpuBackend be(BackendOptions{1, 0});
  EXPECT_EQ(be.threads(), 1);
  be.set_threads(3);
  EXPECT_EQ(be.pool().size(), 3);
  std::vector<int> hit(100, 0);
  be.pool().parallel_for(100, [&](std::size_t i) { hit[i] += 1; });
  EXPECT_EQ(std::accumulate(hit.begin(), hit.end(), 0), 100);
}

}  // namespace
}  // namespace strata::backend
