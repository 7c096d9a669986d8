// A checkpoint's trainer_state.json as strata train --resume reads it (app/trainer.cpp read_trainer_state): a JSON
// object with "options", turned into TrainOptions (app/train_options.cpp) and validated.
#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "strata/app/train_options.h"

using namespace strata;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = "ck/trainer_state.json";
  fuzz::expect_clean("trainer_state.json", [&] {
    const nlohmann::json state = nlohmann::json::parse(fuzz::as_text(data, size), nullptr, false);
    if (state.is_discarded() || !state.is_object() || !state.contains("options"))
      bad_input(path, ": not a strata trainer state");
    const app::TrainOptions o = app::train_options_from_json(state["options"], app::TrainOptions{});
    app::validate(o);
    const app::TrainOptions again = app::train_options_from_json(app::to_json(o), app::TrainOptions{});
    fuzz::require(app::to_json(again) == app::to_json(o), "trainer_state.json", "options round trip differs");
  });
  return 0;
}
