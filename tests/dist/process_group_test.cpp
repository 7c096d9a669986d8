// Process groups: the group of one is a no-op, and (run under mpirun by CTest: the Mpi* tests) the world group's
// ring reduction gives exact sums for every length and rank count, the same bits run to run, and strings,
// broadcasts and double sums arrive in rank order.
#include "strata/dist/process_group.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

namespace strata::dist {
namespace {

TEST(LocalGroup, IsAGroupOfOneWhoseCollectivesLeaveDataAlone) {
  auto g = make_local_group();
  EXPECT_EQ(g->rank(), 0);
  EXPECT_EQ(g->size(), 1);
  EXPECT_TRUE(g->is_root());
  std::vector<float> x = {1.5f, -2.0f};
  bool ran = false;
  g->all_reduce_sum_async(x.data(), x.size(), [&] { ran = true; }).wait();
  EXPECT_TRUE(ran);
  EXPECT_EQ(x[0], 1.5f);
  double d[2] = {3.0, 4.0};
  g->all_reduce_sum(d, 2);
  EXPECT_EQ(d[1], 4.0);
  EXPECT_EQ(g->all_gather("a"), std::vector<std::string>{"a"});
}

TEST(World, WithoutMpirunIsTheLocalGroup) {
  if (launched_by_mpi()) GTEST_SKIP() << "running under mpirun";
  EXPECT_EQ(world().size(), 1);
}

// Rank r's value at index i: small integers, so float sums are exact and comparable with the formula.
float value(int r, std::size_t i) { return static_cast<float>((r + 1) * 3 + static_cast<int>(i % 17)); }

class Mpi : public testing::Test {
 protected:
  void SetUp() override {
    if (!launched_by_mpi()) GTEST_SKIP() << "not started by mpirun (CTest runs these as dist.mpi with -np 3)";
  }
};

TEST_F(Mpi, RingAllReduceSumsEveryLength) {
  ProcessGroup& g = world();
  const int N = g.size();
  for (std::size_t n : {0, 1, 2, 3, 5, 7, 64, 1001, 100000}) {
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = value(g.rank(), i);
    g.all_reduce_sum(x.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      float want = 0;
      for (int r = 0; r < N; ++r) want += value(r, i);
      ASSERT_EQ(x[i], want) << "n " << n << " i " << i;
    }
  }
}

TEST_F(Mpi, ReduceScatterLeavesEachRankItsChunkAndAllGatherSharesThem) {
  ProcessGroup& g = world();
  const int N = g.size(), r = g.rank();
  for (std::size_t n : {1, 2, 5, 1001}) {
    std::vector<float> x(n), all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = x[i] = value(r, i);
    g.all_reduce_sum(all.data(), n);
    g.reduce_scatter_sum_async(x.data(), n).wait();
    const std::size_t b = g.chunk_begin(n, r), e = g.chunk_begin(n, r + 1);
    for (std::size_t i = b; i < e; ++i) ASSERT_EQ(x[i], all[i]) << "n " << n << " i " << i;  // the same bits
    for (std::size_t i = 0; i < n; ++i)
      if (i < b || i >= e) x[i] = -1.0f;  // scratch outside the own chunk
    g.all_gather_async(x.data(), n).wait();
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(x[i], all[i]) << "n " << n << " i " << i;
  }
  EXPECT_EQ(g.chunk_begin(10, N), 10u);
}

TEST_F(Mpi, QueuedReductionsCompleteInOrderAndRunTheirHook) {
  ProcessGroup& g = world();
  std::vector<std::vector<float>> bufs(4, std::vector<float>(333, 1.0f));
  std::vector<int> order;
  std::vector<Request> reqs;
  for (int k = 0; k < 4; ++k)
    reqs.push_back(g.all_reduce_sum_async(bufs[k].data(), bufs[k].size(), [&order, k] { order.push_back(k); }));
  for (auto& r : reqs) r.wait();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  for (auto& b : bufs) EXPECT_EQ(b[100], static_cast<float>(g.size()));
  EXPECT_GE(g.stats().reduce_bytes, 4 * 333 * sizeof(float));
}

TEST_F(Mpi, TheSameInputsGiveTheSameBitsEveryTime) {
  ProcessGroup& g = world();
  auto run = [&] {
    std::vector<float> x(4097);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i) + g.rank()) * 1e-3f;
    g.all_reduce_sum(x.data(), x.size());
    return x;
  };
  const std::vector<float> a = run(), b = run();
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  // Every rank holds the same result.
  std::vector<float> root = a;
  g.broadcast(root.data(), root.size() * sizeof(float), 0);
  EXPECT_EQ(std::memcmp(a.data(), root.data(), a.size() * sizeof(float)), 0);
}

TEST_F(Mpi, StringsAndDoublesArriveInRankOrder) {
  ProcessGroup& g = world();
  const std::vector<std::string> all = g.all_gather(std::string(static_cast<std::size_t>(g.rank()), 'x'));
  ASSERT_EQ(static_cast<int>(all.size()), g.size());
  for (int r = 0; r < g.size(); ++r) EXPECT_EQ(all[r], std::string(static_cast<std::size_t>(r), 'x'));
  double d[2] = {1.0, static_cast<double>(g.rank())};
  g.all_reduce_sum(d, 2);
  EXPECT_EQ(d[0], g.size());
  EXPECT_EQ(d[1], g.size() * (g.size() - 1) / 2.0);
  g.barrier();
}

}  // namespace
}  // namespace strata::dist
