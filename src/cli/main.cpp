// strata command-line entry point: registers subcommands and maps errors to exit codes
// (2 bad input or usage, 3 resource budget, 1 internal).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/common.h"
#include "strata/core/error.h"
#include "strata/dist/process_group.h"

namespace {

// Under mpirun a failing process ends the whole job (the others would wait for it forever): the launcher stops
// every process and exits with this process's code.
int finish(int code) {
  if (code != 0 && strata::dist::launched_by_mpi()) {
    std::cerr.flush();
    strata::dist::world().abort(code);
  }
  return code;
}

std::string who() {
  return strata::dist::launched_by_mpi() ? "strata: rank " + std::to_string(strata::dist::world().rank()) + ": "
                                         : "strata: ";
}

}  // namespace

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
    return finish(rc == 0 ? 0 : 2);
  } catch (const strata::Error& e) {
    std::cerr << who() << "error: " << e.what() << "\n";
    return finish(static_cast<int>(e.code()));
  } catch (const std::bad_alloc&) {
    std::cerr << who() << "error: out of memory\n";
    return finish(3);
  } catch (const std::exception& e) {
    std::cerr << who() << "internal error: " << e.what() << "\n";
    return finish(1);
  }
  return 0;
}
