// Shared by the libFuzzer targets: a scratch directory for readers that take a path, and the oracle. A reader may
// refuse an input only with strata::Error exit 2 (bad input) or 3 (resource budget), with a message of bounded size;
// any other exception, an exit-1 error, a crash, a hang or a sanitizer report is a finding (abort()).
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <string_view>
#include <typeinfo>

#include "strata/core/error.h"

namespace strata::fuzz {

// A message longer than this quotes far too much of the input (class 1 of issue 12: values dumped whole).
constexpr std::size_t kMaxMessageBytes = 16 * 1024;

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// This process's own directory under $TMPDIR, removed at exit.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "strata-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) {
      std::perror("strata-fuzz: mkdtemp");
      std::abort();
    }
    static const std::string keep = tmpl;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(keep, ec);
    });
    return tmpl;
  }();
  return dir;
}

// Writes bytes to scratch_dir()/name (replacing it) and returns the path.
inline std::string write_input(const std::string& name, std::string_view bytes) {
  const std::string path = scratch_dir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    std::fprintf(stderr, "strata-fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

[[noreturn]] inline void finding(const char* what, const std::string& detail) {
  std::fprintf(stderr, "strata-fuzz FINDING (%s): %s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Runs one read. Returns true when it succeeded, false when it refused the input as it should.
template <typename F>
bool expect_clean(const char* what, F&& read) {
  try {
    read();
    return true;
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (e.code() != ExitCode::kBadInput && e.code() != ExitCode::kResource)
      finding(what, cat("exit ", static_cast<int>(e.code()), " (internal error) on bad input: ", msg.substr(0, 2000)));
    if (msg.size() > kMaxMessageBytes)
      finding(what, cat("a ", msg.size(), "-byte error message (quotes too much input): ", msg.substr(0, 300)));
    return false;
  } catch (const std::bad_alloc&) {
    finding(what, "std::bad_alloc escaped: the CLI would say 'out of memory' without naming the input");
  } catch (const std::exception& e) {
    finding(what, cat("uncaught ", typeid(e).name(), " (the CLI exits 1): ", std::string(e.what()).substr(0, 2000)));
  } catch (...) {
    finding(what, "an exception of unknown type");
  }
}

// An invariant a successful read must hold.
inline void require(bool ok, const char* what, const std::string& detail) {
  if (!ok) finding(what, detail);
}

}  // namespace strata::fuzz
