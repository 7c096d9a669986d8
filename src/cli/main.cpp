// strata command-line entry point: registers subcommands and maps errors to exit codes
// (2 bad input or usage, 3 resource budget, 1 internal).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "strata/core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"strata: induced label hierarchies and layer-to-layer relay training"};
  app.set_version_flag("--version", std::string("strata ") + STRATA_VERSION);
  app.require_subcommand(1);
  strata::cli::add_progress_flag(app);
  strata::cli::register_all(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const strata::Error& e) {
    std::cerr << "strata: error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << "strata: error: out of memory\n";
    return 3;
  } catch (const std::exception& e) {
    std::cerr << "strata: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
