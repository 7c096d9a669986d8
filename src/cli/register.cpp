// The list of subcommands.
#include "cli/commands.h"

namespace strata::cli {

void register_all(CLI::App& app) {
  (void)app;
}

}  // namespace strata::cli
