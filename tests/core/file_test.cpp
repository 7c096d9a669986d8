// OutputSet: output paths checked before the work, outputs published together, nothing replaced by a failure,
// temporaries of killed writers cleaned up.
#include "strata/core/file.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "strata/core/error.h"

namespace fs = std::filesystem;
using strata::OutputSet;

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/strata_file_test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// The bad_input message of fn(), or "" if it threw nothing.
template <typename Fn>
std::string bad_input_of(Fn fn) {
  try {
    fn();
  } catch (const strata::Error& e) {
    EXPECT_EQ(e.code(), strata::ExitCode::kBadInput);
    return e.what();
  }
  return "";
}
}  // namespace

TEST(OutputSet, RefusesUnwritablePathsNamingTheFlag) {
  TempDir d;
  OutputSet s;
  std::string m = bad_input_of([&] { s.add("--svg", d.path + "/missing/x.svg"); });
  EXPECT_NE(m.find("--svg"), std::string::npos) << m;
  EXPECT_NE(m.find("does not exist"), std::string::npos) << m;
  m = bad_input_of([&] { s.add("--out", d.path); });
  EXPECT_NE(m.find("is a directory"), std::string::npos) << m;
  s.add("--out", d.path + "/a.json");
  m = bad_input_of([&] { s.add("--svg", d.path + "/./a.json"); });
  EXPECT_NE(m.find("same output"), std::string::npos) << m;
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directory(d.path + "/ro");
    fs::permissions(d.path + "/ro", fs::perms::owner_read | fs::perms::owner_exec);
    m = bad_input_of([&] { s.add("--log", d.path + "/ro/l.jsonl"); });
    EXPECT_NE(m.find("cannot write"), std::string::npos) << m;
  }
  EXPECT_TRUE(fs::is_empty(d.path));  // the probes are gone
}

TEST(OutputSet, AFailureBeforeCommitLeavesEveryEarlierOutput) {
  TempDir d;
  const std::string a = d.path + "/a.txt", b = d.path + "/b.txt";
  strata::write_file_atomic(a, "old a");
  strata::write_file_atomic(b, "old b");
  try {
    OutputSet s;
    s.add("--out", a);
    s.add("--svg", b);
    strata::write_file_atomic(s.staged(a), "new a");
    throw std::runtime_error("the second output failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(strata::read_file(a), "old a");
  EXPECT_EQ(strata::read_file(b), "old b");
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(d.path)) files += e.is_regular_file();
  EXPECT_EQ(files, 2u) << "a staged file was left behind";
}

TEST(OutputSet, CommitPublishesFilesAndSwapsDirectories) {
  TempDir d;
  const std::string a = d.path + "/a.txt", ck = d.path + "/ck";
  strata::write_file_atomic(a, "old a");
  fs::create_directory(ck);
  strata::write_file_atomic(ck + "/state", "old state");
  OutputSet s;
  s.add("--out", a);
  s.add("--save", ck + "/", /*directory=*/true);
  strata::write_file_atomic(s.staged(a), "new a");
  fs::create_directory(s.staged(ck));
  strata::write_file_atomic(s.staged(ck) + "/state", "new state");
  const pid_t dead = fork();  // a pid that no process has once the child is reaped
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  const std::string stale = ck + ".tmp." + std::to_string(dead), live = a + ".tmp.1";  // pid 1 always runs
  fs::create_directories(stale + ".out");
  strata::write_file_atomic(stale, "left by a killed writer");
  strata::write_file_atomic(live, "another writer's");
  s.commit();
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_FALSE(fs::exists(stale + ".out"));
  ASSERT_TRUE(fs::exists(live));
  fs::remove(live);
  EXPECT_EQ(strata::read_file(a), "new a");
  EXPECT_EQ(strata::read_file(ck + "/state"), "new state");
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(d.path)) entries += !e.path().empty();
  EXPECT_EQ(entries, 2u) << "the old checkpoint or a staged name was left behind";
}

TEST(TempDir, IsPrivateAndRemovedWithItsContent) {
  std::string path;
  {
    strata::TempDir a("strata-test"), b("strata-test");
    path = a.path();
    EXPECT_NE(a.path(), b.path());
    EXPECT_TRUE(fs::is_directory(path));
    EXPECT_EQ(fs::path(path).filename().string().rfind("strata-test-", 0), 0u) << path;
    EXPECT_EQ(fs::status(path).permissions() & fs::perms::others_all, fs::perms::none);
    strata::write_file_atomic(path + "/x", "content");
    fs::create_directory(path + "/sub");
  }
  EXPECT_FALSE(fs::exists(path));
}
