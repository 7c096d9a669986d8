// The list of subcommands.
#include "cli/commands.h"
#include "cli/common.h"

namespace strata::cli {

void register_all(CLI::App& app) {
  register_induce(app);
  register_fit(app);
  register_predict(app);
  register_evaluate(app);
  register_compare(app);
  register_simulate(app);
  register_train(app);
  register_pretrain(app);
  register_embed(app);
}

}  // namespace strata::cli
