// WordPiece, following transformers' tokenization_bert.py step by step (names of its functions in the comments), so
// that the same vocab.txt gives the same ids. Python's unicodedata.category, str.lower() and unicodedata.normalize
// are ICU's u_charType, UnicodeString::toLower(root locale) (full case mapping with final sigma, as Python) and
// Normalizer2 NFC/NFD.
#include "strata/data/wordpiece.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/locid.h>
#include <unicode/unistr.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "strata/core/error.h"
#include "strata/core/label_tree.h"

namespace strata::data {

// ---- UTF-8 ----------------------------------------------------------------------------------------------------------

namespace {

// Decodes one code point at s[i]; returns its length in bytes, 0 if the bytes there are not well-formed UTF-8.
std::size_t decode_one(const std::string& s, std::size_t i, char32_t& cp) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  std::size_t len;
  char32_t min;
  if (c < 0x80) return cp = c, 1;
  if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, min = 0x80;
  else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, min = 0x800;
  else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, min = 0x10000;
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

}  // namespace

std::u32string utf8_to_u32(const std::string& s) {
  std::u32string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = decode_one(s, i, cp);
    out += n ? cp : U'\uFFFD';
    i += n ? n : 1;
  }
  return out;
}

std::string u32_to_utf8(const std::u32string& s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

bool valid_utf8(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    char32_t cp = 0;
    const std::size_t n = decode_one(s, i, cp);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// ---- character classes (tokenization_bert.py's _is_whitespace, _is_control, _is_punctuation, _is_chinese_char) -----

namespace {

bool is_whitespace(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || u_charType(static_cast<UChar32>(c)) == U_SPACE_SEPARATOR;
}

// Category "C*" (Cc, Cf, Cn, Co, Cs), except the three whitespace controls.
bool is_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_UNASSIGNED:
    case U_PRIVATE_USE_CHAR:
    case U_SURROGATE:
      return true;
    default:
      return false;
  }
}

// ASCII non-alphanumerics count even where Unicode says symbol ("$", "^", "`"), plus category "P*".
bool is_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

// The CJK Unified Ideographs blocks only (not Hiragana, Katakana or Hangul, which are written with spaces).
bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// What Python's str.split() splits on once the text is cleaned: the space everything else became, plus the line
// and paragraph separators (Zl, Zp), which are neither whitespace nor control to _clean_text.
bool splits_words(char32_t c) { return c == U' ' || c == 0x2028 || c == 0x2029; }

std::vector<std::u32string> whitespace_split(const std::u32string& s) {
  std::vector<std::u32string> out;
  std::u32string cur;
  for (char32_t c : s) {
    if (splits_words(c)) {
      if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

enum class Norm { kNfc, kNfd };

std::u32string icu_apply(const std::u32string& s, bool lower, Norm* norm) {
  icu::UnicodeString u = icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()),
                                                       static_cast<int32_t>(s.size()));
  if (lower) u.toLower(icu::Locale::getRoot());
  if (norm != nullptr) {
    UErrorCode st = U_ZERO_ERROR;
    const icu::Normalizer2* n =
        *norm == Norm::kNfc ? icu::Normalizer2::getNFCInstance(st) : icu::Normalizer2::getNFDInstance(st);
    if (U_FAILURE(st)) internal_error("wordpiece: ICU normalizer unavailable: ", u_errorName(st));
    u = n->normalize(u, st);
    if (U_FAILURE(st)) internal_error("wordpiece: ICU normalization failed: ", u_errorName(st));
  }
  std::u32string out(static_cast<std::size_t>(u.countChar32()), U'\0');
  UErrorCode st = U_ZERO_ERROR;
  u.toUTF32(reinterpret_cast<UChar32*>(out.data()), static_cast<int32_t>(out.size()), st);
  return out;
}

// _run_strip_accents: NFD, then drop nonspacing marks (Mn).
std::u32string strip_accents(const std::u32string& s) {
  Norm nfd = Norm::kNfd;
  std::u32string out;
  for (char32_t c : icu_apply(s, false, &nfd))
    if (u_charType(static_cast<UChar32>(c)) != U_NON_SPACING_MARK) out += c;
  return out;
}

// _run_split_on_punc: every punctuation character its own token.
void split_on_punc(const std::u32string& s, std::vector<std::u32string>& out) {
  std::u32string cur;
  for (char32_t c : s) {
    if (is_punctuation(c)) {
      if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
      out.emplace_back(1, c);
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
}

constexpr const char* kSpecials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

}  // namespace

// ---- BasicTokenizer ---------------------------------------------------------------------------------------------------

std::vector<std::u32string> WordPiece::basic_tokenize(const std::u32string& text) const {
  std::u32string clean;  // _clean_text and _tokenize_chinese_chars
  clean.reserve(text.size());
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      clean += U' ';
    } else if (opt_.tokenize_chinese_chars && is_chinese_char(c)) {
      clean += U' ', clean += c, clean += U' ';
    } else {
      clean += c;
    }
  }
  Norm nfc = Norm::kNfc;
  const bool strip = opt_.strip_accents < 0 ? opt_.lower_case : opt_.strip_accents == 1;
  std::vector<std::u32string> split;
  for (std::u32string& tok : whitespace_split(icu_apply(clean, false, &nfc))) {
    if (opt_.lower_case) tok = icu_apply(tok, true, nullptr);
    if (strip) tok = strip_accents(tok);
    split_on_punc(tok, split);  // empty tokens (all accents) vanish here, as in HF's final whitespace_tokenize
  }
  return split;
}

// ---- WordpieceTokenizer -------------------------------------------------------------------------------------------------

void WordPiece::wordpiece(const std::u32string& word, std::vector<std::int32_t>& out) const {
  if (static_cast<int>(word.size()) > opt_.max_input_chars_per_word) {
    out.push_back(unk_);
    return;
  }
  const std::size_t mark = out.size();
  std::size_t start = 0;
  while (start < word.size()) {
    std::size_t end = word.size();
    std::int32_t found = -1;
    for (; end > start; --end) {
      std::string piece = start > 0 ? "##" : "";
      piece += u32_to_utf8(word.substr(start, end - start));
      const auto it = ids_.find(piece);
      if (it != ids_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) {  // one unmatched position makes the whole word [UNK]
      out.resize(mark);
      out.push_back(unk_);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

std::vector<std::int32_t> WordPiece::encode(const std::string& text) const {
  std::vector<std::int32_t> out;
  std::size_t from = 0;
  auto flush = [&](std::size_t to) {
    if (to > from)
      for (const std::u32string& w : basic_tokenize(utf8_to_u32(text.substr(from, to - from)))) wordpiece(w, out);
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '[') continue;
    for (const char* sp : kSpecials) {  // the special tokens are prefix-free, so the first match is the longest
      const std::string s(sp);
      const int id = this->id(s);
      if (id < 0 || text.compare(i, s.size(), s) != 0) continue;
      flush(i);
      out.push_back(id);
      from = i + s.size();
      i = from - 1;
      break;
    }
  }
  flush(text.size());
  return out;
}

std::vector<std::string> WordPiece::tokenize(const std::string& text) const {
  std::vector<std::string> out;
  for (std::int32_t i : encode(text)) out.push_back(tokens_[static_cast<std::size_t>(i)]);
  return out;
}

std::string WordPiece::decode(const std::vector<std::int32_t>& ids, bool skip_special) const {
  std::string out;
  for (std::int32_t i : ids) {
    if (i < 0 || i >= vocab_size()) bad_input("wordpiece: id ", i, " outside the vocabulary of ", vocab_size());
    if (skip_special && (i == pad_ || i == cls_ || i == sep_ || i == mask_)) continue;
    const std::string& t = tokens_[static_cast<std::size_t>(i)];
    if (t.rfind("##", 0) == 0) {
      out += t.substr(2);
    } else {
      if (!out.empty()) out += ' ';
      out += t;
    }
  }
  return out;
}

int WordPiece::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

// ---- loading --------------------------------------------------------------------------------------------------------------

WordPiece WordPiece::from_vocab(const std::vector<std::string>& tokens, const WordPieceOptions& options,
                                const std::string& where) {
  WordPiece w;
  w.opt_ = options;
  w.tokens_ = tokens;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (!valid_utf8(tokens[i])) bad_input(where, ":", i + 1, ": token is not valid UTF-8");
    const auto [it, fresh] = w.ids_.emplace(tokens[i], static_cast<std::int32_t>(i));
    if (!fresh)
      bad_input(where, ":", i + 1, ": duplicate token '", tokens[i], "' (first on line ", it->second + 1,
                "); every token of a vocab.txt must be distinct");
  }
  std::string missing;
  for (const char* s : {"[UNK]", "[CLS]", "[SEP]", "[PAD]"})
    if (w.id(s) < 0) missing += cat(missing.empty() ? "" : ", ", s);
  if (!missing.empty())
    bad_input(where, ": the vocabulary lacks ", missing, " (a BERT vocab.txt holds [PAD], [UNK], [CLS], [SEP], [MASK])");
  w.unk_ = w.id("[UNK]");
  w.cls_ = w.id("[CLS]");
  w.sep_ = w.id("[SEP]");
  w.pad_ = w.id("[PAD]");
  w.mask_ = w.id("[MASK]");
  return w;
}

namespace {

WordPieceOptions read_options(const std::string& vocab_path) {
  WordPieceOptions o;
  const std::string cfg = (std::filesystem::path(vocab_path).parent_path() / "tokenizer_config.json").string();
  if (!std::filesystem::is_regular_file(cfg)) return o;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_file(cfg));
  } catch (const nlohmann::json::exception& e) {
    bad_input(cfg, ": not valid JSON (", e.what(), ")");
  }
  auto flag = [&](const char* key, bool& dst) {
    if (!j.contains(key) || j[key].is_null()) return;
    if (!j[key].is_boolean()) bad_input(cfg, ": field '", key, "': expected true or false, found ", j[key].dump());
    dst = j[key].get<bool>();
  };
  flag("do_lower_case", o.lower_case);
  flag("tokenize_chinese_chars", o.tokenize_chinese_chars);
  bool strip = false;
  if (j.contains("strip_accents") && !j["strip_accents"].is_null()) {
    flag("strip_accents", strip);
    o.strip_accents = strip ? 1 : 0;
  }
  return o;
}

}  // namespace

WordPiece WordPiece::load(const std::string& vocab_path) {
  if (!std::filesystem::is_regular_file(vocab_path))
    bad_input(vocab_path, ": vocabulary not found (expected a WordPiece vocab.txt, one token a line)");
  const std::string bytes = read_file(vocab_path);
  std::vector<std::string> tokens;
  std::size_t from = 0;
  while (from < bytes.size()) {  // HF: each line's "\n" stripped; a final line without one still counts
    std::size_t nl = bytes.find('\n', from);
    if (nl == std::string::npos) nl = bytes.size();
    std::string line = bytes.substr(from, nl - from);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    tokens.push_back(std::move(line));
    from = nl + 1;
  }
  if (tokens.empty()) bad_input(vocab_path, ": empty vocabulary (expected one token a line)");
  return from_vocab(tokens, read_options(vocab_path), vocab_path);
}

}  // namespace strata::data
