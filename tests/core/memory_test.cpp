// Arena accounting and budgets, Buffer RAII, MemorySystem, parse_bytes / format_bytes.
#include "strata/core/memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "strata/core/error.h"

namespace strata {
namespace {

TEST(Arena, CountsCurrentPeakAndAllocations) {
  Arena a(Space::kHost, "host");
  void* p1 = a.allocate(1000, "a");
  void* p2 = a.allocate(3000, "b");
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p1) % kArenaAlignment, 0u);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p2) % kArenaAlignment, 0u);
  EXPECT_EQ(a.current(), 4000u);
  EXPECT_EQ(a.peak(), 4000u);
  EXPECT_EQ(a.live_allocations(), 2u);
  a.free(p2, 3000);
  EXPECT_EQ(a.current(), 1000u);
  EXPECT_EQ(a.peak(), 4000u);
  void* p3 = a.allocate(500, "c");
  EXPECT_EQ(a.peak(), 4000u);  // 1500 < 4000
  a.reset_peak();
  EXPECT_EQ(a.peak(), 1500u);
  a.free(p1, 1000);
  a.free(p3, 500);
  EXPECT_EQ(a.current(), 0u);
  EXPECT_EQ(a.live_allocations(), 0u);
  EXPECT_EQ(a.total_allocations(), 3u);
  EXPECT_EQ(a.allocate(0, "nothing"), nullptr);
  EXPECT_EQ(a.current(), 0u);
}

TEST(Arena, BudgetExceededIsAResourceErrorNamingTheNumbers) {
  Arena a(Space::kDevice, "device", 512ull << 20);
  Buffer used(a, 501ull << 20, "weights");
  try {
    Buffer more(a, 12ull << 20, "layer 3 slab");
    FAIL() << "allocation beyond the budget succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kResource);
    std::string msg = e.what();
    EXPECT_NE(msg.find("device memory budget 512.0 MiB exceeded"), std::string::npos) << msg;
    EXPECT_NE(msg.find("requested 12.0 MiB for 'layer 3 slab'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("501.0 MiB in use"), std::string::npos) << msg;
    EXPECT_NE(msg.find("11.0 MiB available"), std::string::npos) << msg;
    EXPECT_NE(msg.find("needs at least 513.0 MiB"), std::string::npos) << msg;
  }
  // The failed request left the accounting untouched, and exactly the remaining bytes still fit.
  EXPECT_EQ(a.current(), 501ull << 20);
  EXPECT_EQ(a.available(), 11ull << 20);
  Buffer rest(a, 11ull << 20, "exact fit");
  EXPECT_EQ(a.available(), 0u);
  EXPECT_THROW(Buffer(a, 1, "one byte"), Error);
}

TEST(Arena, ConcurrentAllocationsNeverOvershootTheBudget) {
  Arena a(Space::kDevice, "device", 64 * 1024);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0}, refused{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        try {
          Buffer b(a, 4096, "tile");
          ++ok;
          EXPECT_LE(a.current(), a.budget());
        } catch (const Error&) {
          ++refused;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok + refused, 800);
  EXPECT_EQ(a.current(), 0u);
  EXPECT_LE(a.peak(), 64u * 1024);
}

TEST(Buffer, FreesOnDestructionAndMoves) {
  Arena a(Space::kStash, "stash");
  {
    Buffer b(a, 256, "x");
    EXPECT_EQ(b.space(), Space::kStash);
    EXPECT_EQ(a.current(), 256u);
    b.f32()[63] = 1.0f;  // the whole range is writable
    Buffer c = std::move(b);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.data(), nullptr);
    EXPECT_EQ(c.bytes(), 256u);
    EXPECT_EQ(a.current(), 256u);  // moved, not duplicated
    Buffer d(a, 128, "y");
    d = std::move(c);  // d's old 128 bytes are returned
    EXPECT_EQ(a.current(), 256u);
    EXPECT_EQ(a.live_allocations(), 1u);
  }
  EXPECT_EQ(a.current(), 0u);
  EXPECT_EQ(a.live_allocations(), 0u);
  Buffer e(a, 64, "z");
  e.reset();
  EXPECT_EQ(a.current(), 0u);
}

TEST(MemorySystem, ThreeSpacesAccountSeparately) {
  MemorySystem mem(MemoryBudgets{0, 1 << 20, 0});
  Buffer h = mem.alloc(Space::kHost, 4 << 20, "master weights");
  Buffer d = mem.alloc(Space::kDevice, 1 << 19, "slot");
  Buffer s = mem.alloc(Space::kStash, 100, "act");
  EXPECT_EQ(mem.host().current(), 4u << 20);
  EXPECT_EQ(mem.device().current(), 1u << 19);
  EXPECT_EQ(mem.stash().current(), 100u);
  EXPECT_EQ(d.space(), Space::kDevice);
  EXPECT_THROW(mem.alloc(Space::kDevice, 1 << 20, "too big"), Error);
  EXPECT_NO_THROW(mem.alloc(Space::kHost, 8 << 20, "host is unlimited"));
  std::string sum = mem.summary();
  EXPECT_NE(sum.find("device: 512.0 KiB in use"), std::string::npos) << sum;
  EXPECT_NE(sum.find("budget 1.0 MiB"), std::string::npos) << sum;
  EXPECT_NE(sum.find("host: 4.0 MiB in use, peak 12.0 MiB, budget unlimited"), std::string::npos) << sum;
}

TEST(ParseBytes, AcceptsUnits) {
  EXPECT_EQ(parse_bytes("1024"), 1024u);
  EXPECT_EQ(parse_bytes("512MiB"), 512ull << 20);
  EXPECT_EQ(parse_bytes("512mib"), 512ull << 20);
  EXPECT_EQ(parse_bytes("1.5GB"), 1500000000ull);
  EXPECT_EQ(parse_bytes("2G"), 2ull << 30);
  EXPECT_EQ(parse_bytes("1.5 GiB"), 3ull << 29);
  EXPECT_EQ(parse_bytes(" 64 KiB "), 65536u);
  EXPECT_EQ(parse_bytes("3k"), 3072u);
  EXPECT_EQ(parse_bytes("7B"), 7u);
  EXPECT_EQ(parse_bytes("1TB"), 1000000000000ull);
  EXPECT_EQ(parse_bytes("0"), 0u);
}

TEST(ParseBytes, RejectsGarbageWithAClearMessage) {
  for (const char* bad : {"", "abc", "-5MiB", "12XB", "1.2.3G", "5 M B", "1.5", "1e3", "99999999999TiB", "MiB"}) {
    try {
      parse_bytes(bad, "--device-memory");
      FAIL() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::kBadInput);
      std::string msg = e.what();
      EXPECT_NE(msg.find("--device-memory"), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << msg;
    }
  }
}

TEST(FormatBytes, PicksTheUnit) {
  EXPECT_EQ(format_bytes(100), "100 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(512ull << 20), "512.0 MiB");
  EXPECT_EQ(format_bytes(3ull << 30), "3.0 GiB");
  EXPECT_EQ(parse_bytes(format_bytes(768ull << 20)), 768ull << 20);
}

}  // namespace
}  // namespace strata
