// The tokenizer's vocabulary file (data/tokenizer.cpp Tokenizer::load, a SentencePiece model); a model that loads
// encodes and decodes a short text.
#include "fuzz_util.h"
#include "strata/data/tokenizer.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::write_input("tokenizer.model", fuzz::as_text(data, size));
  fuzz::expect_clean("tokenizer load", [&] {
    const data::Tokenizer tok = data::Tokenizer::load(path);
    const std::vector<std::int32_t> ids = tok.encode_text("the quick brown fox, 42 times");
    for (const std::int32_t id : ids)
      fuzz::require(id >= 0 && id < tok.vocab_size(), "tokenizer", cat("piece id ", id, " outside the vocabulary"));
    tok.decode(ids);
  });
  return 0;
}
