// Errors that carry the process exit code the CLI must return (DESIGN.md §3):
// 2 bad input or usage, 3 a resource budget cannot be met, 1 internal error.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace strata {

enum class ExitCode : int { kOk = 0, kInternal = 1, kBadInput = 2, kResource = 3, kCancelled = 130 };

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Concatenates anything streamable: cat("file.csv:", 3, ": expected ", 4, " columns").
template <typename... Args>
std::string cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

// Bad input or usage: names the file and line (or tensor, or field), what was expected and what was found.
template <typename... Args>
[[noreturn]] void bad_input(Args&&... args) {
  throw Error(ExitCode::kBadInput, cat(std::forward<Args>(args)...));
}

// A resource budget cannot be met; the message must say the minimum that would work.
template <typename... Args>
[[noreturn]] void resource_error(Args&&... args) {
  throw Error(ExitCode::kResource, cat(std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void internal_error(Args&&... args) {
  throw Error(ExitCode::kInternal, cat(std::forward<Args>(args)...));
}

#define STRATA_CHECK(cond, ...)                                                                                    \
  do {                                                                                                             \
    if (!(cond))                                                                                                   \
      ::strata::internal_error(__FILE__, ":", __LINE__, ": check failed: " #cond, " " __VA_OPT__(, ) __VA_ARGS__); \
  } while (0)

}  // namespace strata
