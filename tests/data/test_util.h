// Helpers shared by the data module's tests: a per-process temporary directory, file writers (plain and gzip)
// and a probe that returns the message of the bad-input error a call throws.
#pragma once
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "../common/error_matchers.h"
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

using strata::testing::bad_input_message;

}  // namespace strata::data::testing
