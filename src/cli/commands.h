// One registration function per subcommand file (src/cli/<name>.cpp). Each adds its CLI11 subcommand and a
// callback that does the work; errors are thrown as strata::Error and mapped to exit codes in main.
#pragma once
#include <CLI/CLI.hpp>

namespace strata::cli {
void register_all(CLI::App& app);
}
