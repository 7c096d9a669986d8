// Text data set readers (WordNet glosses, TSV, JSONL) with a fixed hash split, and the synthetic token generator.
// Classes are encoded over every row before the split is taken, so a split never shifts the class ids.
#include "strata/data/text.h"

#include <cerrno>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

#include "strata/core/error.h"
#include "strata/core/json.h"
#include "strata/core/rng.h"
#include "strata/data/file_bytes.h"
#include "strata/data/labels.h"

namespace strata::data {

namespace {

struct Row {
  std::string text;
  std::string label;
  std::uint64_t key;
};

// Calls fn(line, line_number) for each line of bytes (1-based numbers; a trailing '\r' is dropped).
template <typename Fn>
void for_each_line(const std::string& bytes, Fn&& fn) {
  std::size_t pos = 0;
  std::size_t line_no = 0;
  while (pos < bytes.size()) {
    std::size_t nl = bytes.find('\n', pos);
    if (nl == std::string::npos) nl = bytes.size();
    std::string_view line(bytes.data() + pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line, ++line_no);
    pos = nl + 1;
  }
}

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

std::string_view trim(std::string_view s) {
  std::size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  std::size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<Row> read_wordnet(const std::string& dir) {
  struct PosFile {
    const char* file;
    std::uint64_t pos;
  };
  static const PosFile kFiles[] = {{"data.noun", 0}, {"data.verb", 1}, {"data.adj", 2}, {"data.adv", 3}};
  const auto& lexnames = wordnet_lexnames();
  std::vector<Row> rows;
  for (const auto& pf : kFiles) {
    const std::string path = dir + "/" + pf.file;
    const std::string bytes = read_bytes(path);
    for_each_line(bytes, [&](std::string_view line, std::size_t ln) {
      if (line.empty() || line.substr(0, 2) == "  ") return;  // license header, trailing newline
      // synset_offset lex_filenum ss_type w_cnt word lex_id ... | gloss
      auto where = [&] { return cat(path, ":", ln); };
      std::size_t sp1 = line.find(' ');
      std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos)
        bad_input(where(), ": expected 'synset_offset lex_filenum ss_type ...', found '", line.substr(0, 60), "'");
      std::string_view off = line.substr(0, sp1), lex = line.substr(sp1 + 1, sp2 - sp1 - 1);
      if (off.empty() || off.size() > 10 || off.find_first_not_of("0123456789") != std::string_view::npos)
        bad_input(where(), ": expected a decimal synset offset, found '", off, "'");
      if (lex.size() != 2 || lex.find_first_not_of("0123456789") != std::string_view::npos)
        bad_input(where(), ": expected a two-digit lexicographer file number, found '", lex, "'");
      const int lex_num = (lex[0] - '0') * 10 + (lex[1] - '0');
      if (lex_num >= static_cast<int>(lexnames.size()))
        bad_input(where(), ": lexicographer file number ", lex_num, " is beyond the ", lexnames.size(), " known (00-",
                  lexnames.size() - 1, ")");
      std::size_t bar = line.find(" | ");
      if (bar == std::string_view::npos) bad_input(where(), ": no gloss (expected ' | ' before the definition)");
      std::string_view gloss = trim(line.substr(bar + 3));
      if (gloss.empty()) bad_input(where(), ": empty gloss after ' | '");
      const std::uint64_t offset = std::strtoull(std::string(off).c_str(), nullptr, 10);
      rows.push_back({std::string(gloss), lexnames[static_cast<std::size_t>(lex_num)], offset * 4 + pf.pos});
    });
  }
  if (rows.empty()) bad_input(dir, ": no synsets found in data.{noun,verb,adj,adv}");
  return rows;
}

std::vector<Row> read_tsv(const std::string& path) {
  const std::string bytes = read_bytes(path);
  std::vector<Row> rows;
  int text_col = -1, label_col = -1;
  std::size_t n_cols = 0;
  auto split_tabs = [](std::string_view line) {
    std::vector<std::string_view> f;
    std::size_t pos = 0;
    while (true) {
      std::size_t t = line.find('\t', pos);
      f.push_back(line.substr(pos, t == std::string_view::npos ? std::string_view::npos : t - pos));
      if (t == std::string_view::npos) break;
      pos = t + 1;
    }
    return f;
  };
  bool have_header = false;
  for_each_line(bytes, [&](std::string_view line, std::size_t ln) {
    if (is_blank(line)) return;
    auto f = split_tabs(line);
    if (!have_header) {
      for (std::size_t i = 0; i < f.size(); ++i) {
        if (trim(f[i]) == "text") text_col = static_cast<int>(i);
        if (trim(f[i]) == "label") label_col = static_cast<int>(i);
      }
      if (text_col < 0 || label_col < 0)
        bad_input(path, ":", ln, ": expected a header naming the columns 'text' and 'label' (tab-separated), found '",
                  line.substr(0, 80), "'");
      n_cols = f.size();
      have_header = true;
      return;
    }
    if (f.size() != n_cols)
      bad_input(path, ":", ln, ": expected ", n_cols, " tab-separated fields as in the header, found ", f.size());
    std::string_view label = trim(f[static_cast<std::size_t>(label_col)]);
    if (label.empty()) bad_input(path, ":", ln, ": empty label");
    rows.push_back({std::string(f[static_cast<std::size_t>(text_col)]), std::string(label), rows.size()});
  });
  if (!have_header) bad_input(path, ": empty file (expected a header 'text<TAB>label' and rows)");
  if (rows.empty()) bad_input(path, ": no data rows after the header");
  return rows;
}

// One text a line (pre-training corpora): blank lines skipped, every row labelled "text"; the key is the 0-based
// row, as for the other files.
std::vector<Row> read_lines(const std::string& path) {
  const std::string bytes = read_bytes(path);
  std::vector<Row> rows;
  for_each_line(bytes, [&](std::string_view line, std::size_t) {
    if (!is_blank(line)) rows.push_back({std::string(line), "text", rows.size()});
  });
  if (rows.empty()) bad_input(path, ": no text (expected one text a line)");
  return rows;
}

std::vector<Row> read_jsonl(const std::string& path) {
  const std::string bytes = read_bytes(path);
  std::vector<Row> rows;
  for_each_line(bytes, [&](std::string_view line, std::size_t ln) {
    if (is_blank(line)) return;
    const nlohmann::json j = parse_json(line, cat(path, ":", ln));
    if (!j.is_object())
      bad_input(path, ":", ln, ": expected an object {\"text\": ..., \"label\": ...}, found ", j.type_name());
    if (!j.contains("text") || !j["text"].is_string()) bad_input(path, ":", ln, ": missing string field \"text\"");
    if (!j.contains("label")) bad_input(path, ":", ln, ": missing field \"label\"");
    const auto& l = j["label"];
    std::string label;
    if (l.is_string())
      label = l.get<std::string>();
    else if (l.is_number_integer())
      label = std::to_string(l.get<std::int64_t>());
    else
      bad_input(path, ":", ln, ": \"label\" must be a string or an integer, found ", json_excerpt(l));
    if (label.empty()) bad_input(path, ":", ln, ": empty label");
    rows.push_back({j["text"].get<std::string>(), std::move(label), rows.size()});
  });
  if (rows.empty()) bad_input(path, ": no rows (expected one JSON object per line)");
  return rows;
}

std::string wordnet_dir() {
  const char* env = std::getenv("STRATA_WORDNET_DIR");
  return env != nullptr && *env != '\0' ? std::string(env) : std::string("/usr/share/wordnet");
}

}  // namespace

const std::vector<std::string>& wordnet_lexnames() {
  static const std::vector<std::string> kNames = {"adj.all",          "adj.pert",           "adv.all",
                                                  "noun.Tops",        "noun.act",           "noun.animal",
                                                  "noun.artifact",    "noun.attribute",     "noun.body",
                                                  "noun.cognition",   "noun.communication", "noun.event",
                                                  "noun.feeling",     "noun.food",          "noun.group",
                                                  "noun.location",    "noun.motive",        "noun.object",
                                                  "noun.person",      "noun.phenomenon",    "noun.plant",
                                                  "noun.possession",  "noun.process",       "noun.quantity",
                                                  "noun.relation",    "noun.shape",         "noun.state",
                                                  "noun.substance",   "noun.time",          "verb.body",
                                                  "verb.change",      "verb.cognition",     "verb.communication",
                                                  "verb.competition", "verb.consumption",   "verb.contact",
                                                  "verb.creation",    "verb.emotion",       "verb.motion",
                                                  "verb.perception",  "verb.possession",    "verb.social",
                                                  "verb.stative",     "verb.weather",       "adj.ppl"};
  return kNames;
}

bool in_test_split(std::uint64_t key) {
  std::uint64_t s = key;
  return splitmix64(s) % 10 == 0;
}

TextDataset load_text(const std::string& spec, const std::string& split) {
  if (split != "all" && split != "train" && split != "test")
    bad_input("split '", split, "': expected train, test or all");
  std::vector<Row> rows;
  std::string source;
  if (spec == "wordnet:lexname") {
    const std::string dir = wordnet_dir();
    rows = read_wordnet(dir);
    source = cat("wordnet:lexname (", dir, ")");
  } else if (spec.rfind("wordnet:", 0) == 0) {
    bad_input("text spec '", spec, "': the only WordNet task is wordnet:lexname");
  } else if (is_synthetic_spec(spec)) {
    bad_input("text spec '", spec, "': synthetic data are token ids, load them with load_synthetic");
  } else {
    const std::string ext = data_extension(spec);
    if (ext == ".tsv")
      rows = read_tsv(spec);
    else if (ext == ".jsonl")
      rows = read_jsonl(spec);
    else if (ext == ".txt")
      rows = read_lines(spec);
    else
      bad_input("text spec '", spec, "': expected wordnet:lexname, PATH.tsv, PATH.jsonl or PATH.txt (optionally .gz)");
    source = spec;
  }
  std::vector<std::string> raw(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) raw[i] = rows[i].label;
  EncodedLabels enc = encode_text_labels(raw);

  TextDataset ds;
  ds.classes = std::move(enc.classes);
  ds.source = cat(source, " split=", split);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (split != "all" && in_test_split(rows[i].key) != (split == "test")) continue;
    ds.texts.push_back(std::move(rows[i].text));
    ds.y.push_back(enc.y[i]);
    ds.keys.push_back(rows[i].key);
  }
  if (ds.texts.empty()) bad_input(source, ": the ", split, " split is empty (", rows.size(), " rows in all)");
  return ds;
}

TokenDataset make_synthetic(int vocab, int classes, int n, int seq_len, std::uint64_t seed) {
  if (vocab < 1 || classes < 1 || classes > vocab || n < 1 || seq_len < 1)
    bad_input("synthetic data: need vocab >= 1, 1 <= classes <= vocab, n >= 1, seq_len >= 1; got vocab=", vocab,
              " classes=", classes, " n=", n, " seq_len=", seq_len);
  TokenDataset ds;
  ds.n = n;
  ds.T = seq_len;
  ds.num_classes = classes;
  ds.vocab = vocab;
  const std::size_t total = static_cast<std::size_t>(n) * static_cast<std::size_t>(seq_len);
  ds.ids.resize(total);  // (n, T)
  ds.mask.assign(total, 1);
  ds.y.resize(static_cast<std::size_t>(n));
  std::uint64_t state = seed;
  for (std::size_t k = 0; k < total; ++k)
    ds.ids[k] = static_cast<std::int32_t>(splitmix64(state) % static_cast<std::uint64_t>(vocab));
  for (int i = 0; i < n; ++i)
    ds.y[static_cast<std::size_t>(i)] =
        ds.ids[static_cast<std::size_t>(i) * static_cast<std::size_t>(seq_len)] % classes;
  return ds;
}

bool is_synthetic_spec(const std::string& spec) { return spec.rfind("synthetic:", 0) == 0; }

TokenDataset load_synthetic(const std::string& spec, int seq_len, std::uint64_t seed) {
  if (!is_synthetic_spec(spec)) bad_input("spec '", spec, "': expected synthetic:vocab=V,classes=C,n=N");
  long long vocab = -1, classes = -1, n = -1, seq = seq_len;
  unsigned long long sd = seed;
  std::string_view rest(spec);
  rest.remove_prefix(10);
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view kv = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::size_t eq = kv.find('=');
    if (eq == std::string_view::npos) bad_input("spec '", spec, "': expected key=value, found '", kv, "'");
    const std::string key(kv.substr(0, eq)), val(kv.substr(eq + 1));
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(val.c_str(), &end, 10);
    if (val.empty() || *end != '\0' || errno != 0 || val[0] == '-' || (key != "seed" && v > 1'000'000'000ull))
      bad_input("spec '", spec, "': ", key, " must be a non-negative integer, found '", val, "'");
    if (key == "vocab")
      vocab = static_cast<long long>(v);
    else if (key == "classes")
      classes = static_cast<long long>(v);
    else if (key == "n")
      n = static_cast<long long>(v);
    else if (key == "seq")
      seq = static_cast<long long>(v);
    else if (key == "seed")
      sd = v;
    else
      bad_input("spec '", spec, "': unknown key '", key, "' (expected vocab, classes, n, seq, seed)");
  }
  if (vocab < 0 || classes < 0 || n < 0)
    bad_input("spec '", spec, "': vocab, classes and n are required (synthetic:vocab=V,classes=C,n=N)");
  return make_synthetic(static_cast<int>(vocab), static_cast<int>(classes), static_cast<int>(n), static_cast<int>(seq),
                        sd);
}

}  // namespace strata::data
