// .npy reader and writer. The header is a Python dict literal; we parse exactly the subset np.save writes
// ('descr', 'fortran_order', 'shape' with str/bool/tuple values) and refuse the rest with the byte offset.
#include "strata/data/npy.h"

#include <sys/stat.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/data/file_bytes.h"
#include "strata/data/labels.h"

namespace strata::data {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;

// Recursive-descent parser over the header dict text; offsets are reported as file offsets.
class DictParser {
 public:
  DictParser(const std::string& s, std::size_t begin, std::size_t end, const std::string& path)
      : s_(s), p_(begin), end_(end), path_(path) {}

  [[noreturn]] void fail(const std::string& what) const {
    bad_input(path_, ": offset ", p_, ": malformed .npy header: ", what,
              " (header: ", s_.substr(begin_of_header(), std::min<std::size_t>(end_ - begin_of_header(), 120)), ")");
  }
  std::size_t begin_of_header() const { return header_begin_; }
  void set_header_begin(std::size_t b) { header_begin_ = b; }

  void ws() {
    while (p_ < end_ && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n' || s_[p_] == '\r')) ++p_;
  }
  bool peek(char c) {
    ws();
    return p_ < end_ && s_[p_] == c;
  }
  void expect(char c) {
    if (!peek(c)) fail(cat("expected '", std::string(1, c), "'"));
    ++p_;
  }
  std::string str() {
    ws();
    if (p_ >= end_ || (s_[p_] != '\'' && s_[p_] != '"')) fail("expected a quoted string");
    const char q = s_[p_++];
    std::size_t start = p_;
    while (p_ < end_ && s_[p_] != q) ++p_;
    if (p_ >= end_) fail("unterminated string");
    return s_.substr(start, p_++ - start);
  }
  bool boolean() {
    ws();
    if (s_.compare(p_, 4, "True") == 0) return p_ += 4, true;
    if (s_.compare(p_, 5, "False") == 0) return p_ += 5, false;
    fail("expected True or False");
  }
  std::vector<std::size_t> tuple() {
    expect('(');
    std::vector<std::size_t> v;
    while (!peek(')')) {
      ws();
      std::size_t start = p_, x = 0;
      while (p_ < end_ && s_[p_] >= '0' && s_[p_] <= '9') {
        if (x > (std::size_t{1} << 50)) fail("dimension too large");
        x = x * 10 + static_cast<std::size_t>(s_[p_++] - '0');
      }
      if (p_ == start) fail("expected a non-negative integer dimension");
      if (p_ < end_ && s_[p_] == 'L') ++p_;  // Python 2 long suffix
      v.push_back(x);
      if (!peek(',')) break;
      ++p_;
    }
    expect(')');
    return v;
  }
  std::size_t pos() const { return p_; }

 private:
  const std::string& s_;
  std::size_t p_, end_;
  const std::string& path_;
  std::size_t header_begin_ = 0;
};

template <typename T>
T load_elem(const char* p, bool swap) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if (swap) {
    if constexpr (sizeof(T) == 2) {
      std::uint16_t u;
      std::memcpy(&u, &v, 2);
      u = static_cast<std::uint16_t>((u >> 8) | (u << 8));
      std::memcpy(&v, &u, 2);
    } else if constexpr (sizeof(T) == 4) {
      std::uint32_t u;
      std::memcpy(&u, &v, 4);
      u = __builtin_bswap32(u);
      std::memcpy(&v, &u, 4);
    } else if constexpr (sizeof(T) == 8) {
      std::uint64_t u;
      std::memcpy(&u, &v, 8);
      u = __builtin_bswap64(u);
      std::memcpy(&v, &u, 8);
    }
  }
  return v;
}

// Calls fn(i, value) for every element, converting from the stored dtype; value is double or int64.
template <typename Out, typename Fn>
void for_each_elem(const NpyHeader& h, const std::string& bytes, const std::string& path, std::size_t count, Fn fn) {
  const char* p = bytes.data() + h.data_offset;
  auto run = [&](auto tag) {
    using T = decltype(tag);
    for (std::size_t i = 0; i < count; ++i) fn(i, static_cast<Out>(load_elem<T>(p + i * sizeof(T), h.swap)));
  };
  switch (h.kind) {
    case 'f':
      if (h.item_size == 4) return run(float{});
      if (h.item_size == 8) return run(double{});
      break;
    case 'i':
      if (h.item_size == 1) return run(std::int8_t{});
      if (h.item_size == 2) return run(std::int16_t{});
      if (h.item_size == 4) return run(std::int32_t{});
      if (h.item_size == 8) return run(std::int64_t{});
      break;
    case 'u':
    case 'b':
      if (h.item_size == 1) return run(std::uint8_t{});
      if (h.kind == 'b') break;
      if (h.item_size == 2) return run(std::uint16_t{});
      if (h.item_size == 4) return run(std::uint32_t{});
      if (h.item_size == 8) return run(std::uint64_t{});
      break;
  }
  bad_input(path, ": dtype '", h.descr, "' is not supported; expected float32 (<f4), float64 (<f8) or an integer type");
}

std::string shape_str(const std::vector<std::size_t>& s) {
  std::string o = "(";
  for (std::size_t k = 0; k < s.size(); ++k) o += (k ? ", " : "") + std::to_string(s[k]);
  return o + (s.size() == 1 ? ",)" : ")");
}

// Where the header dict of a .npy file lies: bytes [begin, end) of the file.
struct HeaderSpan {
  std::size_t begin, end;
};

// Checks the magic and the format version and reads the header length; fsize is the whole file's size.
HeaderSpan read_preamble(const std::string& b, const std::string& path, std::size_t fsize) {
  if (b.empty()) bad_input(path, ": file is empty; expected a NumPy .npy file");
  if (b.size() < kMagicLen + 4 || std::memcmp(b.data(), kMagic, kMagicLen) != 0)
    bad_input(path, ": offset 0: not a NumPy .npy file (expected the magic \\x93NUMPY)");
  const int major = static_cast<unsigned char>(b[6]);
  std::size_t header_len, header_begin;
  if (major == 1) {
    header_len = static_cast<unsigned char>(b[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(b[9])) << 8);
    header_begin = 10;
  } else if (major == 2 || major == 3) {
    if (b.size() < 12) bad_input(path, ": truncated .npy header: expected at least 12 bytes, found ", b.size());
    header_len = 0;
    for (int k = 3; k >= 0; --k) header_len = (header_len << 8) | static_cast<unsigned char>(b[8 + k]);
    header_begin = 12;
  } else {
    bad_input(path, ": offset 6: .npy format version ", major, ".", int(static_cast<unsigned char>(b[7])),
              " is not supported; expected 1.0, 2.0 or 3.0");
  }
  const std::size_t header_end = header_begin + header_len;
  if (header_end > b.size())
    bad_input(path, ": truncated .npy header: it declares ", header_len, " bytes from offset ", header_begin,
              " but the file has ", fsize, " bytes");
  return {header_begin, header_end};
}

// Parses the header dict into h.descr and h.shape; requires all three keys and C order.
void parse_header_dict(const std::string& b, HeaderSpan span, const std::string& path, NpyHeader& h) {
  bool have_descr = false, have_order = false, have_shape = false, fortran = false;
  DictParser P(b, span.begin, span.end, path);
  P.set_header_begin(span.begin);
  P.expect('{');
  while (!P.peek('}')) {
    std::string key = P.str();
    P.expect(':');
    if (key == "descr") {
      if (P.peek('[')) P.fail("structured dtypes (a list in 'descr') are not supported; expected a plain dtype");
      h.descr = P.str();
      have_descr = true;
    } else if (key == "fortran_order") {
      fortran = P.boolean();
      have_order = true;
    } else if (key == "shape") {
      h.shape = P.tuple();
      have_shape = true;
    } else {
      P.fail(cat("unexpected key '", key, "'"));
    }
    if (!P.peek(',')) break;
    P.expect(',');
  }
  P.expect('}');
  if (!have_descr || !have_order || !have_shape)
    bad_input(path, ": .npy header lacks '", !have_descr ? "descr" : !have_order ? "fortran_order" : "shape", "'");
  if (fortran)
    bad_input(path,
              ": the array is stored in Fortran (column-major) order; save it in C order, e.g. "
              "np.save(path, np.ascontiguousarray(a))");
}

// h.kind, h.item_size and h.swap from h.descr: byte order ('<' little, '>' big, '|' not applicable, '=' native),
// kind, item size.
void parse_descr(NpyHeader& h, const std::string& path) {
  const std::string& ds = h.descr;
  std::size_t k = 0;
  char order = '=';
  if (k < ds.size() && (ds[k] == '<' || ds[k] == '>' || ds[k] == '|' || ds[k] == '=')) order = ds[k++];
  if (k >= ds.size()) bad_input(path, ": dtype '", ds, "' is not understood");
  h.kind = ds[k++];
  std::size_t size = 0;
  for (; k < ds.size() && ds[k] >= '0' && ds[k] <= '9'; ++k) size = size * 10 + static_cast<std::size_t>(ds[k] - '0');
  if (k != ds.size() || size == 0 || std::string("fiub").find(h.kind) == std::string::npos)
    bad_input(path, ": dtype '", ds, "' is not supported; expected float32 (<f4), float64 (<f8) or an integer type");
  h.item_size = size;
  const bool little = std::endian::native == std::endian::little;
  h.swap = size > 1 && ((order == '<' && !little) || (order == '>' && little));
}

// Checks that the fsize-byte file holds exactly prod(shape) * item_size bytes after h.data_offset.
void check_data_size(const NpyHeader& h, const std::string& path, std::size_t fsize) {
  std::size_t count = 1;
  for (auto dim : h.shape)
    if (__builtin_mul_overflow(count, dim, &count)) bad_input(path, ": shape ", shape_str(h.shape), " is too large");
  std::size_t need;
  if (__builtin_mul_overflow(count, h.item_size, &need))
    bad_input(path, ": shape ", shape_str(h.shape), " is too large");
  const std::size_t have = fsize - h.data_offset;
  if (have < need)
    bad_input(path, ": truncated: shape ", shape_str(h.shape), " of '", h.descr, "' needs ", need,
              " bytes of data after the header (offset ", h.data_offset, "), found ", have);
  if (have > need)
    bad_input(path, ": ", have - need, " unexpected bytes after the data at offset ", h.data_offset + need, " (shape ",
              shape_str(h.shape), " of '", h.descr, "' needs ", need, ")");
}

}  // namespace

NpyHeader parse_npy_header(const std::string& b, const std::string& path, std::size_t file_size) {
  const std::size_t fsize = file_size == SIZE_MAX ? b.size() : file_size;
  const HeaderSpan span = read_preamble(b, path, fsize);
  NpyHeader h;
  parse_header_dict(b, span, path, h);
  parse_descr(h, path);
  h.data_offset = span.end;
  check_data_size(h, path, fsize);
  return h;
}

namespace {

// The common case of a plain (not gzip) little-endian float32 file, read straight into the result: no
// intermediate copy of a file that may be gigabytes. Returns false (nothing read) for any other file.
bool read_f32_direct(const std::string& path, std::size_t& n, std::size_t& d, std::vector<float>& x) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  const std::size_t fsize = static_cast<std::size_t>(st.st_size);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f || fsize < 12) return false;
  std::string head(12, '\0');
  if (std::fread(head.data(), 1, 12, f.get()) != 12 || std::memcmp(head.data(), kMagic, kMagicLen) != 0) return false;
  const int major = static_cast<unsigned char>(head[6]);
  std::size_t header_end;
  if (major == 1) {
    header_end = 10 + (static_cast<unsigned char>(head[8]) |
                       (static_cast<std::size_t>(static_cast<unsigned char>(head[9])) << 8));
  } else if (major == 2 || major == 3) {
    std::size_t len = 0;
    for (int k = 3; k >= 0; --k) len = (len << 8) | static_cast<unsigned char>(head[8 + k]);
    header_end = 12 + len;
  } else {
    return false;
  }
  if (header_end > fsize || header_end > (1u << 24)) return false;
  if (header_end > 12) {
    head.resize(header_end);
    if (std::fread(head.data() + 12, 1, header_end - 12, f.get()) != header_end - 12) return false;
  }
  NpyHeader h = parse_npy_header(head, path, fsize);  // checks the data size against the file size
  if (!(h.kind == 'f' && h.item_size == 4 && !h.swap) || h.shape.empty()) return false;
  n = h.shape[0];
  d = 1;
  for (std::size_t k = 1; k < h.shape.size(); ++k) d *= h.shape[k];
  if (n == 0 || d == 0) return false;
  x = make_floats(n * d);
  if (std::fread(x.data(), sizeof(float), x.size(), f.get()) != x.size())
    bad_input(path, ": read failed after offset ", header_end, " (", std::strerror(errno), ")");
  return true;
}

}  // namespace

std::vector<float> read_npy_matrix(const std::string& path, std::size_t& n, std::size_t& d) {
  std::vector<float> direct;  // (n, d)
  if (read_f32_direct(path, n, d, direct)) {
    for (std::size_t i = 0; i < direct.size(); ++i)
      if (!std::isfinite(direct[i]))
        bad_input(path, ": element (", i / d, ", ", i % d, ") is ", direct[i],
                  "; features must be finite float32 values");
    return direct;
  }
  const std::string b = read_bytes(path);
  NpyHeader h = parse_npy_header(b, path);
  if (h.shape.empty()) bad_input(path, ": holds a scalar (shape ()); expected a 2-D array (n, d)");
  n = h.shape[0];
  d = 1;
  for (std::size_t k = 1; k < h.shape.size(); ++k) d *= h.shape[k];
  if (n == 0) bad_input(path, ": shape ", shape_str(h.shape), " holds no rows");
  if (d == 0) bad_input(path, ": shape ", shape_str(h.shape), " holds no features");
  std::vector<float> x = make_floats(n * d);  // (n, d)
  std::size_t bad = SIZE_MAX;
  if (h.kind == 'f' && h.item_size == 4 && !h.swap) {
    std::memcpy(x.data(), b.data() + h.data_offset, x.size() * sizeof(float));
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x[i])) {
        bad = i;
        break;
      }
  } else {
    for_each_elem<double>(h, b, path, x.size(), [&](std::size_t i, double v) {
      x[i] = static_cast<float>(v);
      if (bad == SIZE_MAX && !std::isfinite(x[i])) bad = i;
    });
  }
  if (bad != SIZE_MAX)
    bad_input(path, ": element (", bad / d, ", ", bad % d, ") at offset ", h.data_offset + bad * h.item_size, " is ",
              x[bad], "; features must be finite float32 values");
  return x;
}

std::vector<std::int64_t> read_npy_labels(const std::string& path) {
  const std::string b = read_bytes(path);
  NpyHeader h = parse_npy_header(b, path);
  if (h.shape.size() != 1 && !(h.shape.size() == 2 && h.shape[1] == 1))
    bad_input(path, ": labels have shape ", shape_str(h.shape), "; expected a 1-D array (n,) or (n, 1)");
  const std::size_t n = h.shape[0];
  std::vector<std::int64_t> y(n);
  if (h.kind == 'f') {
    for_each_elem<double>(h, b, path, n, [&](std::size_t i, double v) {
      if (!(std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.0e15))
        bad_input(path, ": label ", i, " at offset ", h.data_offset + i * h.item_size, " is ", v,
                  "; float labels must be whole numbers (or save integer labels)");
      y[i] = static_cast<std::int64_t>(v);
    });
  } else {
    if (h.kind == 'u' && h.item_size == 8) {
      for_each_elem<std::uint64_t>(h, b, path, n, [&](std::size_t i, std::uint64_t v) {
        if (v > static_cast<std::uint64_t>(INT64_MAX))
          bad_input(path, ": label ", i, " at offset ", h.data_offset + i * h.item_size, " is ", v, ", out of range");
        y[i] = static_cast<std::int64_t>(v);
      });
    } else {
      for_each_elem<std::int64_t>(h, b, path, n, [&](std::size_t i, std::int64_t v) { y[i] = v; });
    }
  }
  return y;
}

std::vector<std::string> read_label_lines(const std::string& path) {
  const std::string b = read_bytes(path);
  if (b.empty()) bad_input(path, ": file is empty; expected one label per line");
  std::vector<std::string> out;
  std::size_t pos = 0, line = 1, blank_line = 0;
  if (b.size() >= 3 && std::memcmp(b.data(), "\xEF\xBB\xBF", 3) == 0) pos = 3;
  while (pos < b.size()) {
    std::size_t nl = b.find('\n', pos);
    std::size_t stop = nl == std::string::npos ? b.size() : nl;
    std::size_t e = stop;
    if (e > pos && b[e - 1] == '\r') --e;
    if (e == pos) {
      if (!blank_line) blank_line = line;
    } else {
      if (blank_line)
        bad_input(path, ":", blank_line, ": blank line; expected one label per line (blank lines only at the end)");
      out.emplace_back(b, pos, e - pos);
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
    ++line;
  }
  if (out.empty()) bad_input(path, ": holds only blank lines; expected one label per line");
  return out;
}

Dataset load_npy(const std::string& path, const LoadOptions& opts) {
  if (!opts.label_column.empty())
    bad_input(path, ": a label column ('", opts.label_column,
              "') applies to CSV; a .npy takes its labels from a "
              "labels file (--labels)");
  if (opts.missing != Missing::kRefuse) bad_input(path, ": --missing applies to CSV; a .npy holds no missing values");
  if (opts.unlabelled) {
    Dataset ds;
    ds.x = read_npy_matrix(path, ds.n, ds.d);
    ds.source = path;
    return ds;
  }
  if (opts.labels_path.empty())
    bad_input(path,
              ": a .npy holds features only; give the labels file too (--labels FILE: a .npy of integer "
              "labels or a .txt with one label per line)");
  Dataset ds;
  ds.x = read_npy_matrix(path, ds.n, ds.d);
  ds.source = path;
  EncodedLabels enc;
  std::size_t m;
  if (data_extension(opts.labels_path) == ".npy") {
    auto raw = read_npy_labels(opts.labels_path);
    m = raw.size();
    if (m == ds.n) enc = encode_int_labels(raw);
  } else {
    auto raw = read_label_lines(opts.labels_path);
    m = raw.size();
    if (m == ds.n) enc = encode_text_labels(raw);
  }
  if (m != ds.n)
    bad_input(path, " holds ", ds.n, " rows but ", opts.labels_path, " holds ", m, " labels; the counts must agree");
  finish_labels(ds, std::move(enc), opts, opts.labels_path);
  return ds;
}

void save_npy(const std::string& path, const float* x, std::size_t n, std::size_t d) {
  static_assert(std::endian::native == std::endian::little, "save_npy writes '<f4' from host memory");
  std::string dict = cat("{'descr': '<f4', 'fortran_order': False, 'shape': (", n, ", ", d, "), }");
  // np.save pads so that the data starts on a 64-byte boundary; the header ends with '\n'.
  std::size_t total = 10 + dict.size() + 1;
  std::size_t pad = (64 - total % 64) % 64;
  dict.append(pad, ' ');
  dict.push_back('\n');
  if (dict.size() > 65535) bad_input(path, ": shape (", n, ", ", d, ") makes the .npy header too long");
  std::string out;
  const std::size_t bytes = n * d * sizeof(float);
  out.reserve(10 + dict.size() + bytes);
  out.append(kMagic, kMagicLen);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(dict.size() & 0xff));
  out.push_back(static_cast<char>(dict.size() >> 8));
  out += dict;
  out.append(reinterpret_cast<const char*>(x), bytes);
  write_file_atomic(path, out);
}

void save_labels_txt(const std::string& path, const std::vector<std::string>& names_per_row) {
  std::string out;
  for (std::size_t i = 0; i < names_per_row.size(); ++i) {
    const std::string& s = names_per_row[i];
    if (s.empty()) bad_input(path, ": label of row ", i, " is empty; a labels file needs one label per line");
    if (s.find_first_of("\r\n") != std::string::npos)
      bad_input(path, ": label of row ", i, " ('", s, "') holds a line break; a labels file needs one label per line");
    out += s;
    out.push_back('\n');
  }
  write_file_atomic(path, out);
}

}  // namespace strata::data
