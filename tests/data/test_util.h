// Helpers shared by the data module's tests: a per-process temporary directory, file writers (plain and gzip)
// and a probe that returns the message of the bad-input error a call throws.
#pragma once
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "strata/core/error.h"

namespace strata::data::testing {

inline const std::string& temp_dir() {
  struct Dir {
    std::string path;
    Dir() {
      path = (std::filesystem::temp_directory_path() / ("strata_data_test_" + std::to_string(::getpid()))).string();
      std::filesystem::create_directories(path);
    }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static Dir dir;
  return dir.path;
}

inline std::string temp_path(const std::string& name) { return temp_dir() + "/" + name; }

inline std::string write_temp(const std::string& name, const std::string& content) {
  std::string p = temp_path(name);
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

inline std::string write_temp_gz(const std::string& name, const std::string& content) {
  std::string p = temp_path(name);
  gzFile g = gzopen(p.c_str(), "wb");
  if (!content.empty()) gzwrite(g, content.data(), static_cast<unsigned>(content.size()));
  gzclose(g);
  return p;
}

// The message of the strata bad-input error fn throws; fails the test (and returns "") if it throws nothing
// or something else.
template <typename Fn>
std::string bad_input_message(Fn&& fn) {
  try {
    fn();
  } catch (const strata::Error& e) {
    EXPECT_EQ(e.code(), strata::ExitCode::kBadInput) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected strata::Error, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected a bad-input error, none was thrown";
  return "";
}

}  // namespace strata::data::testing

#define EXPECT_HAS(msg, sub) EXPECT_NE(std::string(msg).find(sub), std::string::npos) << "message: " << (msg)
