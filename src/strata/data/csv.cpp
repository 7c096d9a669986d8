// CSV/TSV reader. The file is read whole; rows are tokenised in place (no per-cell allocation) and numbers parsed
// with an integer fast path, else std::from_chars. Large files without quotes are parsed in parallel chunks cut at
// line ends; each chunk knows its first line number, so messages name the same file:line as a serial parse.
#include "strata/data/csv.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <string_view>

#include "strata/core/error.h"
#include "strata/core/thread_pool.h"
#include "strata/data/file_bytes.h"
#include "strata/data/labels.h"

namespace strata::data {
namespace {

constexpr std::size_t kParallelMinBytes = 4u << 20;  // below this, threads cost more than they save

struct Cell {
  const char* b;
  const char* e;
  bool quoted;
  bool escaped;  // holds "" pairs that must be unescaped
};

std::string cell_text(const Cell& c) {
  if (!c.escaped) return std::string(c.b, c.e);
  std::string s;
  s.reserve(static_cast<std::size_t>(c.e - c.b));
  for (const char* p = c.b; p < c.e; ++p) {
    s.push_back(*p);
    if (*p == '"' && p + 1 < c.e && p[1] == '"') ++p;
  }
  return s;
}

std::string shown(std::string_view s) {
  if (s.size() > 40) return std::string(s.substr(0, 40)) + "...";
  return std::string(s);
}

// Splits records; skips blank lines; tracks the line each record starts on.
class Tokenizer {
 public:
  Tokenizer(const char* b, const char* e, std::size_t first_line, const std::string& path, char delim)
      : p_(b), end_(e), line_(first_line), path_(path), delim_(delim) {}

  std::size_t record_line() const { return record_line_; }
  const char* pos() const { return p_; }
  std::size_t line() const { return line_; }

  // Skips blank lines; false at the end of the input.
  bool skip_blank() {
    while (p_ < end_) {
      if (*p_ == '\n') {
        ++line_;
        ++p_;
      } else if (*p_ == '\r' && (p_ + 1 == end_ || p_[1] == '\n')) {
        ++p_;
      } else {
        break;
      }
    }
    return p_ != end_;
  }

  // The fast path consumed one single-line record ending at `next` (past its '\n', or the end).
  void consumed_line(const char* next) {
    p_ = next;
    record_line_ = line_++;
  }

  bool next(std::vector<Cell>& cells) {
    if (!skip_blank()) return false;
    record_line_ = line_;
    cells.clear();
    for (;;) {
      while (p_ < end_ && is_pad(*p_)) ++p_;
      Cell c{p_, p_, false, false};
      if (p_ < end_ && *p_ == '"') {
        const std::size_t open_line = line_;
        c.quoted = true;
        c.b = ++p_;
        for (;;) {
          const char* q = static_cast<const char*>(std::memchr(p_, '"', static_cast<std::size_t>(end_ - p_)));
          if (!q)
            bad_input(path_, ":", open_line, ": field ", cells.size() + 1,
                      ": quoted field is never closed (missing '\"')");
          line_ += static_cast<std::size_t>(std::count(p_, q, '\n'));
          if (q + 1 < end_ && q[1] == '"') {
            c.escaped = true;
            p_ = q + 2;
            continue;
          }
          c.e = q;
          p_ = q + 1;
          break;
        }
        while (p_ < end_ && (is_pad(*p_) || *p_ == '\r')) ++p_;
        if (p_ < end_ && *p_ != delim_ && *p_ != '\n')
          bad_input(path_, ":", line_, ": field ", cells.size() + 1, ": unexpected '", std::string(1, *p_),
                    "' after the closing quote; expected '",
                    delim_ == '\t' ? std::string("\\t") : std::string(1, delim_), "' or the end of the line");
      } else {
        while (p_ < end_ && *p_ != delim_ && *p_ != '\n') ++p_;
        c.e = p_;
        while (c.e > c.b && (is_pad(c.e[-1]) || c.e[-1] == '\r')) --c.e;
      }
      cells.push_back(c);
      if (p_ == end_) return true;
      if (*p_ == delim_) {
        ++p_;
        continue;
      }
      ++p_;  // '\n'
      ++line_;
      return true;
    }
  }

 private:
  bool is_pad(char ch) const { return ch == ' ' || (ch == '\t' && delim_ != '\t'); }

  const char* p_;
  const char* end_;
  std::size_t line_;
  std::size_t record_line_ = 0;
  const std::string& path_;
  char delim_;
};

enum class Parsed { kValue, kMissing, kBad, kNonFinite };

Parsed parse_number(const Cell& c, float& out) {
  const char* b = c.b;
  const char* e = c.e;
  if (b == e) return Parsed::kMissing;
  if (c.escaped) return Parsed::kBad;
  bool neg = false;
  const char* s = b;
  if (*s == '-') {
    neg = true;
    ++s;
  } else if (*s == '+') {
    ++s;
  }
  // Short integers (pixel values, counts) are exact in float: skip the general parser.
  const std::ptrdiff_t len = e - s;
  if (len >= 1 && len <= 7) {
    std::int32_t v = 0;
    const char* p = s;
    for (; p < e; ++p) {
      const unsigned dgt = static_cast<unsigned char>(*p) - '0';
      if (dgt > 9) break;
      v = v * 10 + static_cast<std::int32_t>(dgt);
    }
    if (p == e) {
      out = static_cast<float>(neg ? -v : v);
      return Parsed::kValue;
    }
  }
  const char* from = (*b == '+') ? b + 1 : b;
  float v = 0;
  auto [p, ec] = std::from_chars(from, e, v);
  if (p == e && ec == std::errc()) {
    if (std::isnan(v)) return Parsed::kMissing;
    if (std::isinf(v)) return Parsed::kNonFinite;
    out = v;
    return Parsed::kValue;
  }
  if (p == e && ec == std::errc::result_out_of_range) {
    // Subnormal underflow is harmless; overflow is not a float.
    double dv = 0;
    auto [q, ec2] = std::from_chars(from, e, dv);
    if (q == e && ec2 == std::errc() && std::fabs(dv) < 1.0) {
      out = static_cast<float>(dv);
      return Parsed::kValue;
    }
    return Parsed::kNonFinite;
  }
  const std::string_view t(b, static_cast<std::size_t>(e - b));
  if (t == "NA" || t == "N/A" || t == "na" || t == "n/a" || t == "NaN" || t == "nan" || t == "NAN" || t == "null" ||
      t == "NULL")
    return Parsed::kMissing;
  return Parsed::kBad;
}

struct Layout {
  std::size_t ncol = 0;
  std::size_t label_col = 0;  // ncol when unlabelled (no column is the label)
  bool labelled = true;
  std::size_t features() const { return labelled ? ncol - 1 : ncol; }
  std::vector<std::string> names;  // (ncol) header names
  Missing missing = Missing::kRefuse;
};

struct Chunk {
  std::vector<float> x;             // (rows, d); NaN marks a missing value when filling with the mean
  std::vector<std::string> labels;  // (rows)
  std::vector<double> sum;          // (d) of present values, for --missing mean
  std::vector<std::size_t> count;   // (d)
  std::exception_ptr error;
};

std::string column_desc(const Layout& L, std::size_t j) { return cat("column '", L.names[j], "' (field ", j + 1, ")"); }

// One record of plain cells (no quotes, no missing values, no oddities), parsed in a single pass: the common case
// of a machine-written file. Returns the position after the record's line end, or nullptr when anything is
// unusual, in which case the caller re-parses the record with the general tokenizer (which also words the error).
const char* fast_row(const char* p, const char* end, char delim, const Layout& L, float* row, std::string& label) {
  std::size_t k = 0;
  for (std::size_t j = 0; j < L.ncol; ++j) {
    const bool last = j + 1 == L.ncol;
    if (j != L.label_col) {
      // Integer fast path: [-]digits{1,7} straight to float (exact).
      const char* q = p;
      const bool neg = q < end && *q == '-';
      q += neg;
      const char* digits = q;
      std::int32_t v = 0;
      while (q < end && q - digits < 8 && static_cast<unsigned>(*q - '0') <= 9) v = v * 10 + (*q++ - '0');
      if (q > digits && q - digits <= 7 && q < end && *q == delim && !last) {
        row[k++] = static_cast<float>(neg ? -v : v);
        p = q + 1;
        continue;
      }
      // Anything else in this cell: the general number parser on the cell's extent.
      const char* e = p;
      while (e < end && *e != delim && *e != '\n') ++e;
      const char* ce = e;
      while (ce > p && (ce[-1] == '\r' || ce[-1] == ' ')) --ce;
      const char* cb = p;
      while (cb < ce && *cb == ' ') ++cb;
      if (cb < ce && *cb == '"') return nullptr;
      float x = 0;
      if (parse_number(Cell{cb, ce, false, false}, x) != Parsed::kValue) return nullptr;
      row[k++] = x;
      p = e;
    } else {
      const char* e = p;
      while (e < end && *e != delim && *e != '\n') ++e;
      const char* ce = e;
      while (ce > p && (ce[-1] == '\r' || ce[-1] == ' ' || (ce[-1] == '\t' && delim != '\t'))) --ce;
      const char* cb = p;
      while (cb < ce && (*cb == ' ' || (*cb == '\t' && delim != '\t'))) ++cb;
      if (cb == ce || *cb == '"') return nullptr;
      label.assign(cb, ce);
      p = e;
    }
    // p is at the cell's terminator.
    if (last) {
      if (p == end) return p;
      if (*p != '\n') return nullptr;
      return p + 1;
    }
    if (p == end || *p != delim) return nullptr;
    ++p;
  }
  return nullptr;
}

void parse_rows(const char* b, const char* e, std::size_t first_line, const std::string& path, char delim,
                const Layout& L, Chunk& out) {
  const std::size_t d = L.features();
  const bool mean = L.missing == Missing::kMean;
  if (mean) {
    out.sum.assign(d, 0.0);
    out.count.assign(d, 0);
  }
  Tokenizer tok(b, e, first_line, path, delim);
  std::vector<Cell> cells;
  cells.reserve(L.ncol);
  std::string label;
  while (tok.skip_blank()) {
    {
      const std::size_t base = out.x.size();
      out.x.resize(base + d);
      float* row = out.x.data() + base;
      if (const char* next = fast_row(tok.pos(), e, delim, L, row, label)) {
        tok.consumed_line(next);
        out.labels.push_back(label);
        if (mean)
          for (std::size_t k = 0; k < d; ++k) out.sum[k] += row[k], ++out.count[k];
        continue;
      }
      out.x.resize(base);
    }
    tok.next(cells);
    if (cells.size() != L.ncol)
      bad_input(path, ":", tok.record_line(), ": expected ", L.ncol, " cells (as in the header), found ", cells.size());
    const std::size_t base = out.x.size();
    out.x.resize(base + d);
    float* row = out.x.data() + base;
    std::size_t k = 0;
    for (std::size_t j = 0; j < L.ncol; ++j) {
      const Cell& c = cells[j];
      if (j == L.label_col) {
        if (c.b == c.e)
          bad_input(path, ":", tok.record_line(), ":", j + 1, ": empty label in ", column_desc(L, j),
                    "; every row needs a label");
        out.labels.push_back(cell_text(c));
        continue;
      }
      float v = 0;
      switch (parse_number(c, v)) {
        case Parsed::kValue:
          row[k] = v;
          if (mean) {
            out.sum[k] += v;
            ++out.count[k];
          }
          break;
        case Parsed::kMissing:
          if (L.missing == Missing::kRefuse)
            bad_input(path, ":", tok.record_line(), ":", j + 1, ": missing value in ", column_desc(L, j),
                      "; pass --missing mean (fill with the column mean) or --missing zero (fill with 0)");
          row[k] = L.missing == Missing::kZero ? 0.0f : std::numeric_limits<float>::quiet_NaN();
          break;
        case Parsed::kNonFinite:
          bad_input(path, ":", tok.record_line(), ":", j + 1, ": ", column_desc(L, j), ": value '", shown(cell_text(c)),
                    "' is not a finite float32");
        case Parsed::kBad:
          bad_input(path, ":", tok.record_line(), ":", j + 1, ": ", column_desc(L, j), ": expected a number, found '",
                    shown(cell_text(c)), "' (if this column holds the labels, pass --label-column ", L.names[j], ")");
      }
      ++k;
    }
    if (!L.labelled) out.labels.emplace_back();  // one (empty) label per row: the row count
  }
}

// Cuts [b, e) into about `parts` pieces at line ends.
std::vector<const char*> cut_at_lines(const char* b, const char* e, std::size_t parts) {
  std::vector<const char*> cuts{b};
  const std::size_t step = static_cast<std::size_t>(e - b) / parts;
  for (std::size_t k = 1; k < parts; ++k) {
    const char* at = std::max(cuts.back(), b + k * step);
    const char* nl = static_cast<const char*>(std::memchr(at, '\n', static_cast<std::size_t>(e - at)));
    if (!nl) break;
    cuts.push_back(nl + 1);
  }
  cuts.push_back(e);
  return cuts;
}

// The header row: column names and which is the label. Returns the layout; `body`/`body_line` say where rows start
// (the header may span lines when a name is quoted).
Layout read_header(const char* b, const char* e, const std::string& path, const LoadOptions& opts, char delimiter,
                   const char*& body, std::size_t& body_line, std::size_t& header_line) {
  Layout L;
  L.missing = opts.missing;
  Tokenizer header(b, e, 1, path, delimiter);
  std::vector<Cell> cells;
  if (!header.next(cells)) bad_input(path, ": file holds only blank lines; expected a header row naming the columns");
  header_line = header.record_line();
  L.ncol = cells.size();
  for (std::size_t j = 0; j < L.ncol; ++j) {
    std::string name = cell_text(cells[j]);
    L.names.push_back(name.empty() ? cat("#", j + 1) : name);
  }
  if (opts.unlabelled) {
    if (!opts.label_column.empty())
      bad_input(path, ": a label column ('", opts.label_column, "') was named, but the data are read unlabelled");
    L.labelled = false;
    L.label_col = L.ncol;
    body = header.pos();
    body_line = header.line();
    return L;
  }
  if (L.ncol < 2)
    bad_input(path, ":", header_line, ": the header has ", L.ncol,
              " column; expected at least one feature column and a label column",
              delimiter == ',' ? " (is the file separated by something other than ','?)" : "");
  if (!opts.label_column.empty()) {
    auto it = std::find(L.names.begin(), L.names.end(), opts.label_column);
    if (it == L.names.end()) {
      std::string list;
      for (std::size_t j = 0; j < L.ncol && j < 30; ++j) list += (j ? ", " : "") + L.names[j];
      if (L.ncol > 30) list += cat(", ... (", L.ncol, " in all)");
      bad_input(path, ":", header_line, ": no label column '", opts.label_column, "'; the columns are: ", list);
    }
    L.label_col = static_cast<std::size_t>(it - L.names.begin());
  } else {
    auto it = std::find(L.names.begin(), L.names.end(), std::string("label"));
    L.label_col = it != L.names.end() ? static_cast<std::size_t>(it - L.names.begin()) : L.ncol - 1;
  }
  body = header.pos();
  body_line = header.line();
  return L;
}

// Lines holding anything besides '\r' (an upper bound on the records among them).
std::size_t count_nonblank_lines(const char* b, const char* e) {
  std::size_t n = 0;
  bool content = false;
  for (const char* p = b; p < e; ++p) {
    if (*p == '\n') {
      n += content;
      content = false;
    } else if (*p != '\r') {
      content = true;
    }
  }
  return n + content;
}

// The data rows, in one chunk, or in chunks cut at line ends and parsed in parallel when the body is large and has
// no quotes (a quoted field may hold a newline, so only then are line ends record ends).
std::vector<Chunk> parse_body(const char* body, const char* e, std::size_t body_line, const std::string& path,
                              char delimiter, const Layout& L) {
  const std::size_t d = L.features();
  const std::size_t body_bytes = static_cast<std::size_t>(e - body);
  const bool has_quotes = std::memchr(body, '"', body_bytes) != nullptr;
  std::size_t parts = 1;
  if (!has_quotes && body_bytes >= kParallelMinBytes) parts = static_cast<std::size_t>(std::max(1, default_threads()));
  auto parse_chunk = [&](Chunk& c, const char* from, const char* to, std::size_t first_line, std::size_t) {
    // Reserve for the non-blank lines only: a file of newlines has no rows, however many lines it has.
    const std::size_t lines = count_nonblank_lines(from, to);
    c.x.reserve(lines * d);
    advise_huge_pages(c.x.data(), lines * d * sizeof(float));
    c.labels.reserve(lines);
    parse_rows(from, to, first_line, path, delimiter, L, c);
  };
  std::vector<Chunk> chunks;
  if (parts <= 1) {
    chunks.resize(1);
    parse_chunk(chunks[0], body, e, body_line, 0);
    return chunks;
  }
  auto cuts = cut_at_lines(body, e, parts);
  const std::size_t nchunks = cuts.size() - 1;
  chunks.resize(nchunks);
  std::vector<std::size_t> first_line(nchunks, body_line);
  std::vector<std::size_t> nl(nchunks);
  ThreadPool pool(static_cast<int>(nchunks));
  pool.parallel_for(nchunks,
                    [&](std::size_t k) { nl[k] = static_cast<std::size_t>(std::count(cuts[k], cuts[k + 1], '\n')); });
  for (std::size_t k = 1; k < nchunks; ++k) first_line[k] = first_line[k - 1] + nl[k - 1];
  pool.parallel_for(nchunks, [&](std::size_t k) {
    try {
      parse_chunk(chunks[k], cuts[k], cuts[k + 1], first_line[k], nl[k] + 1);
    } catch (...) {
      chunks[k].error = std::current_exception();
    }
  });
  for (auto& c : chunks)  // the first error in file order, as a serial parse would report
    if (c.error) std::rethrow_exception(c.error);
  return chunks;
}

// The chunks' rows and labels concatenated in file order (chunk buffers released as they are copied).
void join_chunks(std::vector<Chunk>& chunks, Dataset& ds, std::vector<std::string>& labels) {
  if (chunks.size() == 1) {
    ds.x = std::move(chunks[0].x);
    labels = std::move(chunks[0].labels);
    return;
  }
  std::size_t total = 0, rows = 0;
  for (auto& c : chunks) total += c.x.size(), rows += c.labels.size();
  ds.x = make_floats(total);
  labels.reserve(rows);
  std::size_t off = 0;
  for (auto& c : chunks) {
    std::copy(c.x.begin(), c.x.end(), ds.x.begin() + static_cast<std::ptrdiff_t>(off));
    off += c.x.size();
    std::vector<float>().swap(c.x);
    for (auto& s : c.labels) labels.push_back(std::move(s));
  }
}

// --missing mean: empty cells (NaN) become their column's mean over the cells that have values.
void fill_missing_with_means(const std::vector<Chunk>& chunks, const Layout& L, const std::string& path, Dataset& ds) {
  const std::size_t d = ds.d;
  std::vector<double> sum(d, 0.0);
  std::vector<std::size_t> count(d, 0);
  for (auto& c : chunks)
    for (std::size_t k = 0; k < d; ++k) sum[k] += c.sum[k], count[k] += c.count[k];
  std::vector<float> mean(d, 0.0f);
  for (std::size_t k = 0; k < d; ++k) {
    if (count[k] == 0) {
      const std::size_t j = k < L.label_col ? k : k + 1;
      bad_input(path, ": ", column_desc(L, j),
                " has no values at all, so it has no mean; drop the column or pass "
                "--missing zero");
    }
    mean[k] = static_cast<float>(sum[k] / static_cast<double>(count[k]));
  }
  for (std::size_t i = 0; i < ds.n; ++i) {
    float* row = ds.x.data() + i * d;
    for (std::size_t k = 0; k < d; ++k)
      if (std::isnan(row[k])) row[k] = mean[k];
  }
}

}  // namespace

std::vector<std::string> csv_columns(const std::string& path, char delimiter) {
  const std::string bytes = read_bytes(path);
  const char* b = bytes.data();
  const char* e = b + bytes.size();
  if (bytes.size() >= 3 && std::memcmp(b, "\xEF\xBB\xBF", 3) == 0) b += 3;
  Tokenizer header(b, e, 1, path, delimiter);
  std::vector<Cell> cells;
  std::vector<std::string> names;
  if (header.next(cells))
    for (const Cell& c : cells) names.push_back(cell_text(c));
  return names;
}

Dataset load_csv(const std::string& path, const LoadOptions& opts, char delimiter) {
  if (!opts.labels_path.empty())
    bad_input(path, ": a labels file (", opts.labels_path,
              ") is only used with .npy features; a CSV holds its labels in a column");
  const std::string bytes = read_bytes(path);
  const char* b = bytes.data();
  const char* e = b + bytes.size();
  if (bytes.size() >= 3 && std::memcmp(b, "\xEF\xBB\xBF", 3) == 0) b += 3;
  if (b == e) bad_input(path, ": file is empty; expected a header row naming the columns");

  const char* body = nullptr;
  std::size_t body_line = 0, header_line = 0;
  const Layout L = read_header(b, e, path, opts, delimiter, body, body_line, header_line);
  std::vector<Chunk> chunks = parse_body(body, e, body_line, path, delimiter, L);

  Dataset ds;
  ds.source = path;
  ds.d = L.features();
  std::vector<std::string> labels;
  join_chunks(chunks, ds, labels);
  ds.n = labels.size();
  if (ds.n == 0) bad_input(path, ": the header (line ", header_line, ") is followed by no data rows");
  if (L.missing == Missing::kMean) fill_missing_with_means(chunks, L, path, ds);
  if (!L.labelled) return ds;
  finish_labels(ds, encode_text_labels(labels), opts, path);
  return ds;
}

}  // namespace strata::data
