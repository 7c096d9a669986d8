// Model config.json reader (model/config.cpp load_bert_config), then its round trip through to_json. The round trip
// writes id2label and label2id in full (O(num_labels) JSON objects: a 66-byte config claiming 302 018 labels took 21 s
// under ASan, the first 10-minute run's only finding), so it is checked for configs of up to 4 096 labels; the reader
// itself is timed for every input (the 10 s limit). The CLI never writes a config for labels it has not trained.
#include "fuzz_util.h"
#include "strata/model/config.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::write_input("config.json", fuzz::as_text(data, size));
  fuzz::expect_clean("config.json", [&] {
    const model::BertConfig cfg = model::load_bert_config(path);
    if (cfg.num_labels > 4096) return;
    const model::BertConfig again = model::bert_config_from_json(model::to_json(cfg), "round trip");
    fuzz::require(model::to_json(again) == model::to_json(cfg), "config.json", "to_json round trip differs");
  });
  return 0;
}
