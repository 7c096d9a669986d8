// strata command-line entry point: registers subcommands and maps errors to exit codes
// (2 bad input or usage, 3 resource budget, 1 internal).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <system_error>

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

// The subcommand names, "induce, fit, ...".
std::string subcommand_list(const CLI::App& app) {
  std::string s;
  for (const CLI::App* sub : app.get_subcommands({})) s += (s.empty() ? "" : ", ") + sub->get_name();
  return s;
}

// The first word that is not an option (or the top-level --progress's value) must name a subcommand; CLI11 alone
// would say "A subcommand is required" or "arguments were not expected" for a typo.
bool check_subcommand(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string w = argv[i];
    if (w == "--progress") {
      ++i;
      continue;
    }
    if (!w.empty() && w[0] == '-') continue;
    for (const CLI::App* sub : app.get_subcommands({}))
      if (sub->get_name() == w) return true;
    std::cerr << "strata: error: unknown subcommand '" << w << "'; expected one of: " << subcommand_list(app)
              << " (strata --help lists them)\n";
    return false;
  }
  return true;
}

std::string who() {
  return strata::dist::launched_by_mpi() ? "strata: rank " + std::to_string(strata::dist::world().rank()) + ": "
                                         : "strata: ";
}

// One error line in one write: under mpirun the launcher forwards each write as it comes and may put its own abort
// banner between two writes of the same line.
void say(const std::string& what) {
  const std::string line = who() + what + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"strata: induced label hierarchies and layer-to-layer relay training"};
  app.set_version_flag("--version", std::string("strata ") + STRATA_VERSION);
  app.require_subcommand(1);
  strata::cli::add_progress_flag(app);
  strata::cli::register_all(app);
  if (!check_subcommand(app, argc, argv)) return finish(2);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_name() == "RequiredError" && app.get_subcommands().empty()) {
      std::cerr << "strata: error: a subcommand is required: one of " << subcommand_list(app) << "\n";
      return finish(2);
    }
    int rc = app.exit(e);
    return finish(rc == 0 ? 0 : 2);
  } catch (const strata::Error& e) {
    say(std::string("error: ") + e.what());
    return finish(static_cast<int>(e.code()));
  } catch (const std::system_error& e) {
    // A thread (or another system resource) the process may not have: a limit, not a bug.
    if (e.code() == std::errc::resource_unavailable_try_again || e.code() == std::errc::not_enough_memory) {
      say(std::string("error: cannot create a thread (") + e.what() +
          "); a process or memory limit is too low for this run (try fewer --threads)");
      return finish(3);
    }
    say(std::string("internal error: ") + e.what());
    return finish(1);
  } catch (const std::bad_alloc&) {
    say("error: out of memory");
    return finish(3);
  } catch (const std::exception& e) {
    say(std::string("internal error: ") + e.what());
    return finish(1);
  }
  return 0;
}
