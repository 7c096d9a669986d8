// Model config.json reader (model/config.cpp load_bert_config), then its round trip through to_json.
#include "fuzz_util.h"
#include "strata/model/config.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::write_input("config.json", fuzz::as_text(data, size));
  fuzz::expect_clean("config.json", [&] {
    const model::BertConfig cfg = model::load_bert_config(path);
    const model::BertConfig again = model::bert_config_from_json(model::to_json(cfg), "round trip");
    fuzz::require(model::to_json(again) == model::to_json(cfg), "config.json", "to_json round trip differs");
  });
  return 0;
}
