// strata simulate: the hierarchical-Gaussian simulation of Helm et al. — ARI of the induced partition and
// learning efficiency of the true, induced and random trees, mean ± standard error over replicates — in any
// number of groups and dimensions, with gaussian or "pre-trained" features, under strata's or the authors' preset.
#include <iostream>
#include <map>
#include <memory>

#include "cli/common.h"
#include "strata/core/error.h"
#include "strata/core/label_tree.h"
#include "strata/hier/experiment.h"

namespace strata::cli {

namespace {
struct SimulateArgs {
  hier::SimulateConfig cfg;
  std::string out, svg, preset = "strata";
};

// The authors' node forests unless --trees / --max-depth / --coarse-trees were given.
void apply_preset(CLI::App* sub, SimulateArgs& a) {
  const hier::Preset p = hier::preset(a.preset);
  if (p.name == "strata") return;
  if (!sub->count("--trees")) a.cfg.trees = p.learner.forest.n_trees;
  if (!sub->count("--max-depth")) a.cfg.max_depth = p.learner.forest.max_depth;
  if (!sub->count("--coarse-trees")) a.cfg.nodes.coarse_trees = p.nodes.coarse_trees;
  if (!sub->count("--flat-depth")) a.cfg.nodes.flat_match = p.nodes.flat_match;
}

// The data-shape options beyond the authors' 2-D layout (SimSpec).
void add_shape_options(CLI::App* sub, hier::SimulateConfig& c) {
  auto& d = c.data;
  sub->add_option("--groups", c.groups, "number of groups")->check(int_range(1, 10000))->default_val(4);
  sub->add_option("--dims", d.dims, "feature dimensions")->check(int_range(1, 65536))->default_val(2);
  sub->add_option("--informative", d.informative,
                  "gaussian: dims carrying the class means (0: all); pretrained: latent dims (0: min(dims, 16))")
      ->check(int_range(0, 65536))
      ->default_val(0);
  sub->add_option("--sigma2-between", d.sigma2_between,
                  "spread of group centres, N(0, s I) (0: the authors' circle of radius sqrt 2 in 2 dims)")
      ->check(real_range(0.0, 1e6))
      ->default_val(0.0);
  sub->add_option("--features", d.features, "gaussian | pretrained (latent hierarchy embedded into --dims dims)")
      ->check(CLI::IsMember({"gaussian", "pretrained"}))
      ->default_val("gaussian");
  sub->add_option("--sigma2-noise", d.sigma2_noise, "pretrained: noise added to every embedded dim")
      ->check(real_range(0.0, 1e6))
      ->default_val(0.1);
}

// Node forests and the flat baseline's matching.
void add_forest_options(CLI::App* sub, SimulateArgs& a) {
  auto& c = a.cfg;
  sub->add_option("--max-depth", c.max_depth, "forest depth per node model (0: unlimited)")
      ->check(int_range(0, 1000))
      ->default_val(0);
  sub->add_option("--coarse-trees", c.nodes.coarse_trees, "trees of the coarse (root) model (0: --trees)")
      ->check(int_range(0, 100000))
      ->default_val(0);
  sub->add_option("--flat-depth", c.nodes.flat_match,
                  "flat forest depth: path (node depth x decision levels) | node (one node's depth)")
      ->transform(CLI::CheckedTransformer(
          std::map<std::string, hier::FlatMatch>{{"path", hier::FlatMatch::kPath}, {"node", hier::FlatMatch::kNode}}))
      ->default_val("path");
  sub->add_option("--preset", a.preset,
                  "strata (defaults) | authors (25 coarse / 10 fine trees, depth 10, flat at depth 10); "
                  "explicit forest flags win")
      ->check(CLI::IsMember({"strata", "authors"}))
      ->default_val("strata");
}
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
  add_shape_options(sub, c);
  add_forest_options(sub, *a);
  sub->add_option("--seed", c.seed, "random seed")->check(int_range(0, kMaxSeed))->default_val(0);
  sub->add_option("--threads", c.threads, "worker threads (0: all cores)")->check(thread_range());
  sub->add_option("--out", a->out, "CSV to write")->default_val("sim.csv");
  sub->add_option("--svg", a->svg, "SVG plot to write");
  sub->callback([a, sub] {
    apply_preset(sub, *a);
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
