// Conformance of a backend's memory operations through Backend&: copies between every pair of spaces (raw and
// Buffer forms, bounds checks, traffic counters), row gather/scatter, zero, record and synchronize. Copies are exact:
// compared bit for bit, with every destination guarded.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "conformance.h"
#include "strata/core/error.h"

namespace strata::backend::conformance {
namespace {

class CopyConformance : public Conformance {};

TEST_P(CopyConformance, CopiesBetweenEverySpacePairAreExactAndCounted) {
  const std::size_t n = 1031;
  const std::vector<float> src = randn(n, 1);
  for (Space from : {Space::kHost, Space::kDevice, Space::kStash}) {
    for (Space to : {Space::kHost, Space::kDevice, Space::kStash}) {
      F32 a(be(), src, Role::kInput, "source", from);
      F32 b(be(), n, "destination", to);
      be().reset_traffic();
      be().wait(be().copy_async(b.get(), to, a.get(), from, n * sizeof(float)));
      const Traffic t = be().traffic();
      EXPECT_EQ(be().bytes_to_device(), t.to_device);
      EXPECT_EQ(be().bytes_from_device(), t.from_device);
      EXPECT_EQ(b.read(), src) << space_name(from) << " -> " << space_name(to);
      EXPECT_EQ(t.copies, 1u);
      const std::size_t bytes = n * sizeof(float);
      EXPECT_EQ(t.to_device, to == Space::kDevice && from != Space::kDevice ? bytes : 0u);
      EXPECT_EQ(t.from_device, from == Space::kDevice && to != Space::kDevice ? bytes : 0u);
      EXPECT_EQ(t.within_device, from == Space::kDevice && to == Space::kDevice ? bytes : 0u);
      EXPECT_EQ(t.host_side, from != Space::kDevice && to != Space::kDevice ? bytes : 0u);
    }
  }
}

TEST_P(CopyConformance, BufferFormsCopyTheRangeAndCheckBounds) {
  const std::size_t n = 64;
  Buffer host = be().alloc(Space::kHost, n * sizeof(float), "host");
  Buffer dev = be().alloc(Space::kDevice, n * sizeof(float), "device");
  Buffer back = be().alloc(Space::kHost, n * sizeof(float), "back");
  const std::vector<float> x = randn(n, 2);
  std::memcpy(host.data(), x.data(), n * sizeof(float));
  std::memset(back.data(), 0, n * sizeof(float));
  be().zero(dev.data(), Space::kDevice, n * sizeof(float));
  // Elements [5, 25) of host to [30, 50) of dev; then the whole of dev back.
  be().copy_async(dev, 30 * sizeof(float), host, 5 * sizeof(float), 20 * sizeof(float));
  be().copy_async(back, dev).wait();
  for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(back.f32()[i], i >= 30 && i < 50 ? x[i - 25] : 0.0f) << "element " << i;
  EXPECT_THROW(be().copy_async(dev, 60 * sizeof(float), host, 0, 8 * sizeof(float)), Error);
  EXPECT_THROW(be().copy_async(dev, 0, host, 60 * sizeof(float), 8 * sizeof(float)), Error);
  Buffer small = be().alloc(Space::kDevice, 4, "small");
  EXPECT_THROW(be().copy_async(small, dev), Error);
}

TEST_P(CopyConformance, GatherAndScatterMoveOnlyTheListedRows) {
  const int rows = 11, row_floats = 7;
  const std::vector<float> table = randn(static_cast<std::size_t>(rows) * row_floats, 3);
  const std::vector<std::int32_t> pick = {4, 0, 10, 4, 7};  // repeats are allowed in a gather
  F32 src(be(), table, Role::kInput, "table", Space::kHost);
  F32 packed(be(), pick.size() * row_floats, "packed rows");
  be().gather_rows_async(packed.get(), Space::kDevice, src.get(), Space::kHost, pick, row_floats * sizeof(float))
      .wait();
  const std::vector<float> got = packed.read();
  for (std::size_t i = 0; i < pick.size(); ++i)
    for (int c = 0; c < row_floats; ++c)
      EXPECT_EQ(got[i * row_floats + c], table[static_cast<std::size_t>(pick[i]) * row_floats + c]) << i << "," << c;

  const std::vector<std::int32_t> place = {9, 2, 5};  // distinct in a scatter
  const std::vector<float> grads = randn(place.size() * row_floats, 4);
  const std::vector<float> before = randn(table.size(), 5);
  F32 packed_grads(be(), grads, Role::kInput, "packed gradient rows");
  F32 dst(be(), before, Role::kInOut, "gradient table", Space::kHost);
  be().scatter_rows_async(dst.get(), Space::kHost, packed_grads.get(), Space::kDevice, place,
                          row_floats * sizeof(float))
      .wait();
  std::vector<float> expect = before;
  for (std::size_t i = 0; i < place.size(); ++i)
    std::memcpy(&expect[static_cast<std::size_t>(place[i]) * row_floats], &grads[i * row_floats],
                row_floats * sizeof(float));
  EXPECT_EQ(dst.read(), expect);
}

TEST_P(CopyConformance, ZeroClearsExactlyTheRange) {
  const std::vector<float> x = randn(300, 6);
  F32 a(be(), x, Role::kInOut, "zeroed");
  be().zero(a.get() + 17, Space::kDevice, 200 * sizeof(float));
  std::vector<float> expect = x;
  std::fill(expect.begin() + 17, expect.begin() + 217, 0.0f);
  EXPECT_EQ(a.read(), expect);
}

// Copies run in queue order after the compute issued before them; record() and synchronize() cover all of them.
TEST_P(CopyConformance, RecordAndSynchronizeCoverEveryQueuedCopy) {
  const std::size_t n = 1 << 16;
  const std::vector<float> x = randn(n, 7), y = randn(n, 8);
  F32 src1(be(), x, Role::kInput, "first source", Space::kHost), src2(be(), y, Role::kInput, "second source");
  F32 mid(be(), n, "middle"), last(be(), n, "last", Space::kStash);
  be().copy_async(mid.get(), Space::kDevice, src1.get(), Space::kHost, n * sizeof(float));
  be().copy_async(last.get(), Space::kStash, mid.get(), Space::kDevice, n * sizeof(float));  // after the first
  Event all = be().record();
  all.wait();
  EXPECT_TRUE(all.ready());
  EXPECT_EQ(last.read(), x);
  // residual_forward (compute) then a copy of its output: the copy must see the result.
  F32 sum(be(), n, "sum");
  be().residual_forward(sum.get(), mid.get(), src2.get(), n);
  F32 out(be(), n, "copied sum", Space::kHost);
  be().copy_async(out.get(), Space::kHost, sum.get(), Space::kDevice, n * sizeof(float));
  be().synchronize();
  std::vector<float> expect(n);
  for (std::size_t i = 0; i < n; ++i) expect[i] = x[i] + y[i];
  EXPECT_EQ(out.read(), expect);
  EXPECT_TRUE(Event().ready());  // a default event is complete
}

STRATA_CONFORMANCE_SUITE(CopyConformance);

}  // namespace
}  // namespace strata::backend::conformance
