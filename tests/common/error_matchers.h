// Test helpers shared by every module's tests: the message of a bad-input error, and a substring assertion
// for error messages.
#pragma once
#include <gtest/gtest.h>

#include <exception>
#include <string>

#include "strata/core/error.h"

namespace strata::testing {

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

}  // namespace strata::testing

#define EXPECT_HAS(msg, sub) EXPECT_NE(std::string(msg).find(sub), std::string::npos) << "message: " << (msg)
