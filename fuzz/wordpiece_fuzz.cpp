// WordPiece vocabularies (data/wordpiece.cpp WordPiece::load: a Hugging Face vocab.txt and the
// tokenizer_config.json beside it). The input is up to three sections split by a line "=====": vocab.txt, then
// tokenizer_config.json (absent when there is no second section), then a text to encode. A vocabulary that loads
// encodes the text (and a fixed tricky one) to ids inside the vocabulary, and decodes them.
#include <filesystem>

#include "fuzz_util.h"
#include "strata/data/wordpiece.h"

using namespace strata;

namespace {

// Splits at the lines "=====" into at most three sections.
std::vector<std::string_view> sections(std::string_view in) {
  constexpr std::string_view kSplit = "\n=====\n";
  std::vector<std::string_view> out;
  while (out.size() < 2) {
    const std::size_t at = in.find(kSplit);
    if (at == std::string_view::npos) break;
    out.push_back(in.substr(0, at));
    in.remove_prefix(at + kSplit.size());
  }
  out.push_back(in);
  return out;
}

void check_ids(const data::WordPiece& wp, const std::string& text) {
  const std::vector<std::int32_t> ids = wp.encode(text);
  for (const std::int32_t id : ids)
    fuzz::require(id >= 0 && id < wp.vocab_size(), "wordpiece", cat("id ", id, " outside the vocabulary"));
  wp.decode(ids, false);
  wp.decode(ids, true);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> parts = sections(fuzz::as_text(data, size));
  const std::string vocab = fuzz::write_input("vocab.txt", parts[0]);
  const std::string config = fuzz::scratch_dir() + "/tokenizer_config.json";
  if (parts.size() >= 2) {
    fuzz::write_input("tokenizer_config.json", parts[1]);
  } else {
    std::error_code ec;
    std::filesystem::remove(config, ec);
  }
  const std::string text = parts.size() >= 3 ? std::string(parts[2]) : std::string();
  fuzz::expect_clean("wordpiece load", [&] {
    const data::WordPiece wp = data::WordPiece::load(vocab);
    fuzz::require(wp.unk_id() >= 0 && wp.cls_id() >= 0 && wp.sep_id() >= 0 && wp.pad_id() >= 0, "wordpiece",
                  "a vocabulary without [UNK]/[CLS]/[SEP]/[PAD] loaded");
    check_ids(wp, text);
    check_ids(wp,
              "Héllo, WORLD! 你好 [MASK] un\x01"
              "aff\xe2\x80\x8b"
              " able \xff ##x");
  });
  return 0;
}
