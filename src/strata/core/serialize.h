// Little-endian binary serialization for fitted models: a Writer appends, a Reader bounds-checks every read and
// reports the byte offset of what was wrong (bad input, exit 2), so a truncated model file never crashes.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/error.h"

namespace strata {

class Writer {
 public:
  template <typename T>
  void pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    const char* p = reinterpret_cast<const char*>(&v);
    buf_.append(p, sizeof(T));
  }
  template <typename T>
  void vec(const std::vector<T>& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    pod<std::uint64_t>(v.size());
    buf_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    buf_.append(s);
  }
  void strs(const std::vector<std::string>& v) {
    pod<std::uint64_t>(v.size());
    for (const auto& s : v) str(s);
  }
  const std::string& bytes() const { return buf_; }
  std::string& bytes() { return buf_; }

 private:
  std::string buf_;
};

class Reader {
 public:
  Reader(const std::string& data, std::string where) : data_(data), where_(std::move(where)) {}
  template <typename T>
  T pod(const char* what = "value") {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_.data() + off_, sizeof(T));
    off_ += sizeof(T);
    return v;
  }
  template <typename T>
  std::vector<T> vec(const char* what = "array") {
    auto n = pod<std::uint64_t>(what);
    if (n > (data_.size() - off_) / sizeof(T)) fail(what, cat(n, " elements of ", sizeof(T), " bytes"));
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), data_.data() + off_, n * sizeof(T));
    off_ += n * sizeof(T);
    return v;
  }
  std::string str(const char* what = "string") {
    auto n = pod<std::uint64_t>(what);
    need(n, what);
    std::string s = data_.substr(off_, n);
    off_ += n;
    return s;
  }
  std::vector<std::string> strs(const char* what = "strings") {
    auto n = pod<std::uint64_t>(what);
    if (n > data_.size() - off_) fail(what, cat(n, " strings"));
    std::vector<std::string> v;
    for (std::uint64_t i = 0; i < n; ++i) v.push_back(str(what));
    return v;
  }
  // Throws bad input naming the file and offset unless cond holds.
  void expect(bool cond, const std::string& msg) const {
    if (!cond) bad_input(where_, ": at byte ", off_, ": ", msg);
  }
  std::size_t offset() const { return off_; }
  bool done() const { return off_ == data_.size(); }
  const std::string& where() const { return where_; }

 private:
  void need(std::size_t n, const char* what) const {
    if (n > data_.size() - off_) fail(what, cat(n, " bytes"));
  }
  [[noreturn]] void fail(const char* what, const std::string& need) const {
    bad_input(where_, ": truncated at byte ", off_, ": reading ", what, " needs ", need, ", only ", data_.size() - off_,
              " left");
  }
  const std::string& data_;
  std::string where_;
  std::size_t off_ = 0;
};

}  // namespace strata
