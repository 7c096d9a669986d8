// ThreadPool: every item runs exactly once, exceptions propagate, chunks cover the range, niced workers; absurd
// thread counts are refused and threads that cannot be created are an error, not a hang.
#include "strata/core/thread_pool.h"

#include "strata/core/error.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <vector>

// ASan and TSan reserve terabytes of shadow memory: under an address-space limit they cannot run at all.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STRATA_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STRATA_SANITIZED 1
#endif
#endif

TEST(ThreadPool, EachItemOnce) {
  strata::ThreadPool pool(3);
  for (int rep = 0; rep < 20; ++rep) {
    std::vector<std::atomic<int>> hits(1000);
    pool.parallel_for(hits.size(), [&](std::size_t i) { hits[i]++; });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, ChunksCoverRange) {
  strata::ThreadPool pool(4);
  std::vector<int> v(101, 0);
  pool.parallel_chunks(v.size(), [&](std::size_t b, std::size_t e) {
    for (auto i = b; i < e; ++i) v[i]++;
  });
  for (int x : v) ASSERT_EQ(x, 1);
}

TEST(ThreadPool, RethrowsException) {
  strata::ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_for(10,
                                 [](std::size_t i) {
                                   if (i == 7) throw std::runtime_error("x");
                                 }),
               std::runtime_error);
  int sum = 0;
  pool.parallel_for(1, [&](std::size_t) { sum = 1; });
  EXPECT_EQ(sum, 1);
}

// Workers of a pool with a nice increment run at lower priority; the calling thread keeps its own.
TEST(ThreadPool, NiceIncrementLowersTheWorkersOnly) {
  auto nice_of_this_thread = [] { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); };
  const int base = nice_of_this_thread();
  if (base > 14) GTEST_SKIP() << "this process already runs at nice " << base << ": no room to lower a thread by 5";
  strata::ThreadPool pool(2, 5);
  std::mutex mu;
  std::condition_variable cv;
  int arrived = 0;
  std::vector<int> nices;
  pool.parallel_for(2, [&](std::size_t) {  // both items wait for each other: two threads take part
    std::unique_lock<std::mutex> lock(mu);
    nices.push_back(nice_of_this_thread());
    ++arrived;
    cv.notify_all();
    cv.wait(lock, [&] { return arrived == 2; });
  });
  std::sort(nices.begin(), nices.end());
  EXPECT_EQ(nices, (std::vector<int>{base, base + 5}));
  EXPECT_EQ(nice_of_this_thread(), base);
}

TEST(ThreadPool, AbsurdThreadCountIsBadInput) {
  try {
    strata::ThreadPool pool(strata::max_threads() + 1);
    FAIL() << "a pool above max_threads() was built";
  } catch (const strata::Error& e) {
    EXPECT_EQ(e.code(), strata::ExitCode::kBadInput);
    EXPECT_NE(std::string(e.what()).find(std::to_string(strata::max_threads())), std::string::npos) << e.what();
  }
  EXPECT_GE(strata::max_threads(), 64);
}

// Threads that cannot be created (here: an address-space limit leaves room for a few 8 MiB stacks) end in a
// resource error naming the numbers, with the started workers joined: never a hang or a crash. In a child process,
// so the limit touches nothing else; an alarm turns a hang into a failure.
TEST(ThreadPool, CreationFailureIsAResourceErrorNotAHang) {
#ifdef STRATA_SANITIZED
  GTEST_SKIP() << "built with a sanitizer, whose shadow memory cannot live under the address-space limit this test "
                  "sets (the plain build runs it)";
#endif
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    alarm(20);
    long pages = 0;
    FILE* f = std::fopen("/proc/self/statm", "r");
    if (!f || std::fscanf(f, "%ld", &pages) != 1) _exit(10);
    std::fclose(f);
    rlimit lim{};
    lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(pages) * sysconf(_SC_PAGESIZE) + (40u << 20);
    if (setrlimit(RLIMIT_AS, &lim) != 0) _exit(11);
    try {
      strata::ThreadPool pool(60);
      _exit(12);  // every thread was created: the limit did not bite
    } catch (const strata::Error& e) {
      const std::string w = e.what();
      const bool ok = e.code() == strata::ExitCode::kResource && w.find("asked for 60 threads") != std::string::npos &&
                      w.find("could be created") != std::string::npos;
      _exit(ok ? 0 : 13);
    } catch (...) {
      _exit(14);
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died by signal " << WTERMSIG(status) << " (a hang ends in SIGALRM)";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10-11: setup, 12: no failure, 13: wrong error, 14: another exception";
}
