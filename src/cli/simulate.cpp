// strata simulate: the hierarchical-Gaussian simulation of Helm et al. — ARI of the induced partition and
// learning efficiency of the true and induced trees, mean ± standard error over replicates.
#include <iostream>
#include <memory>

#include "cli/common.h"
#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/hier/experiment.h"

namespace strata::cli {

namespace {
struct SimulateArgs {
  hier::SimulateConfig cfg;
  std::string out, svg;
};
}  // namespace

void register_simulate(CLI::App& app) {
  auto a = std::make_shared<SimulateArgs>();
  auto& c = a->cfg;
  CLI::App* sub = app.add_subcommand("simulate", "hierarchical Gaussian simulation: ARI and learning efficiency");
  sub->add_option("--reps", c.reps, "replicates per setting")->check(int_range(1, 100000))->default_val(10);
  sub->add_option("--sigma2-group", c.sigma2_group, "spread of class means around their group centre (list)")
      ->check(real_range(0, 1e6))
      ->delimiter(',');
  sub->add_option("--sigma2-class", c.sigma2_class, "spread of samples around their class mean")
      ->check(real_range(0, 1e6))
      ->default_val(0.1);
  sub->add_option("--classes-per-group", c.classes_per_group, "classes per group (list)")
      ->check(int_range(1, 10000))
      ->delimiter(',');
  sub->add_option("--samples-per-class", c.samples_per_class, "training samples per class (list)")
      ->check(int_range(1, 1'000'000))
      ->delimiter(',');
  sub->add_option("--test-per-class", c.test_per_class, "test samples per class")
      ->check(int_range(1, 1'000'000))
      ->default_val(100);
  sub->add_option("--trees", c.trees, "forest trees per node model (flat: matched)")
      ->check(int_range(1, 100000))
      ->default_val(50);
  sub->add_option("--seed", c.seed, "random seed")->check(int_range(0, kMaxSeed))->default_val(0);
  sub->add_option("--threads", c.threads, "worker threads (0: all cores)")->check(thread_range());
  sub->add_option("--out", a->out, "CSV to write")->default_val("sim.csv");
  sub->add_option("--svg", a->svg, "SVG plot to write");
  sub->callback([a] {
    OutputSet outs;
    check_outputs(outs, {{"--out", a->out}, {"--svg", a->svg}});
    auto rows = hier::run_simulation(a->cfg, progress_sink());
    write_file_atomic(outs.staged(a->out), hier::simulation_csv(rows));
    if (!a->svg.empty()) write_file_atomic(outs.staged(a->svg), hier::simulation_svg(rows));
    outs.commit();
    progress_sink().wrote(a->out, "results");
    if (!a->svg.empty()) progress_sink().wrote(a->svg, "plot");
    std::cout << hier::simulation_csv(rows) << "wrote " << a->out << (a->svg.empty() ? "" : ", " + a->svg) << "\n";
  });
}

}  // namespace strata::cli
