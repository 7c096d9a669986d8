// Depth sweep, baseline vs L2L, in one run: BERT-mini width (H 256, A 4, FFN 1024) at several depths, synthetic
// tokens (vocab 8192, 45 classes), seq 128, batch 32 in k = 4 micro-batches of 8, AdamW, dropout 0.1. Executors:
// baseline; "l2l-recompute", L2L as the paper schedules it (--recompute on: each layer's forward recomputed in the
// backward); "l2l-stash" (--recompute off: the saved activations stashed in host memory instead, what the default
// --recompute auto picks when they fit); with --stash-memory SIZE also "l2l-auto" (--recompute auto under that
// host stash budget: as many layers stashed as fit, the others recomputed). At each depth all executors are built
// first, then step in rounds, one step each in turn on a new batch, so a slow patch of this noisy machine hits all
// of them. Per row: device peak bytes, host stash peak, step time (min / median of the timed steps after one
// warm-up step), the median over rounds of the step time over the baseline's in the same round, tokens/s, and the
// EPS overlap. Prints a Markdown table and writes an SVG plot (device peak and step time against depth) and a CSV.
//   depth_sweep_bench [--layers 4,12,24,48] [--steps 3] [--threads 2] [--eps-threads 2] [--clip 0] [--svg FILE]
//                     [--csv FILE] [--stash-memory SIZE]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "strata/backend/backend.h"
#include "strata/core/file.h"
#include "strata/core/memory.h"
#include "strata/data/text.h"
#include "strata/io/svg_plot.h"
#include "strata/model/bert.h"
#include "strata/train/executor.h"

using namespace strata;

namespace {

struct Row {
  int layers;
  std::string executor;
  std::size_t device_peak = 0, stash_peak = 0;
  double ms_min = 0, ms_med = 0, tokens_per_s = 0, overlap = 0;
  double ratio = 1;  // step time over the baseline's, median over the rounds
  bool eager = false;
  int recomputed = 0, relay_layers = 0;  // L2L: layers recomputed in the backward, of relay_layers
};

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');) out.push_back(std::atoi(x.c_str()));
  return out;
}

struct Runner {
  std::unique_ptr<backend::Backend> be;
  std::unique_ptr<train::Executor> ex;
  std::vector<double> ms, ratio;  // per timed step: milliseconds, and over the baseline's in the same round
};

// All executors of one depth side by side: after a warm-up step each, every round times one step of each in turn,
// so a slow patch of this noisy machine hits all of them; the ratios to the baseline are per round.
std::vector<Row> run_depth(int layers, const std::vector<std::string>& executors, int steps, int threads, double clip,
                           int eps_threads, std::size_t stash_memory) {
  const int B = 32, T = 128, micro = 8;
  model::BertConfig cfg = model::bert_preset("mini", 45);
  cfg.num_hidden_layers = layers;
  cfg.vocab_size = 8192;
  const model::Bert bert(cfg);
  std::vector<float> init(bert.total_floats());
  bert.init(init.data(), 1);
  const data::TokenDataset ds = data::make_synthetic(8192, 45, B * (steps + 1), T, 7);  // a new batch each step
  auto batch = [&](int s) {
    const std::size_t r0 = static_cast<std::size_t>(s) * B;
    return model::Batch{B, T, ds.ids.data() + r0 * T, nullptr, nullptr, ds.y.data() + r0};
  };
  std::vector<Runner> runners(executors.size());
  for (std::size_t i = 0; i < executors.size(); ++i) {
    const std::string& name = executors[i];
    std::fprintf(stderr, "depth_sweep_bench: %d layers, %s\n", layers, name.c_str());
    backend::BackendOptions bo;
    bo.threads = threads;
    if (name == "l2l-auto") bo.stash_budget = stash_memory;
    runners[i].be = backend::make_backend("cpu", bo);
    train::ExecutorOptions eo;
    eo.micro_batch = micro;
    eo.seed = 1;
    eo.optim.clip = clip;
    eo.eps_threads = eps_threads;
    eo.recompute = name == "l2l-stash"  ? train::Recompute::kOff
                   : name == "l2l-auto" ? train::Recompute::kAuto
                                        : train::Recompute::kOn;
    runners[i].ex = train::make_executor(name == "baseline" ? "baseline" : "l2l", bert, *runners[i].be, eo);
    runners[i].ex->prepare(B, T);
    runners[i].ex->write_state(init.data(), nullptr, nullptr, 0, 0);
    runners[i].be->memory().reset_peaks();
    runners[i].ex->step(batch(0), 1e-4);  // warm-up
  }
  for (int s = 1; s <= steps; ++s)
    for (Runner& r : runners) {
      r.ms.push_back(r.ex->step(batch(s), 1e-4).seconds * 1e3);
      r.ratio.push_back(r.ms.back() / runners.front().ms.back());  // the baseline runs first in each round
    }
  std::vector<Row> rows;
  for (std::size_t i = 0; i < runners.size(); ++i) {
    Runner& run = runners[i];
    run.ex->read_state(nullptr, nullptr, nullptr);  // let the last updates finish
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    Row r;
    r.layers = layers;
    r.executor = executors[i];
    r.device_peak = run.be->memory().device().peak();
    r.stash_peak = run.be->memory().stash().peak();
    r.ms_min = *std::min_element(run.ms.begin(), run.ms.end());
    r.ms_med = median(run.ms);
    r.ratio = median(run.ratio);
    r.tokens_per_s = B * T / (r.ms_med / 1e3);
    const train::ExecutorStats st = run.ex->stats();
    r.overlap = st.eps_overlap;
    r.eager = st.eager;
    r.recomputed = st.recomputed_layers;
    r.relay_layers = bert.num_layers();
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> depths = {4, 12, 24, 48};
  int steps = 3, threads = 2, eps_threads = 2;
  double clip = 0.0;
  std::size_t stash_memory = 0;  // > 0: also an "l2l-auto" row per depth under this host stash budget
  std::string svg = "depth-sweep.svg", csv = "depth-sweep.csv";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--layers"))
      depths = parse_list(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--steps"))
      steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--threads"))
      threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--clip"))
      clip = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--eps-threads"))
      eps_threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--svg"))
      svg = argv[i + 1];
    else if (!std::strcmp(argv[i], "--csv"))
      csv = argv[i + 1];
    else if (!std::strcmp(argv[i], "--stash-memory"))
      stash_memory = parse_bytes(argv[i + 1], "--stash-memory");
    else {
      std::fprintf(stderr, "depth_sweep_bench: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  std::vector<Row> rows;
  std::vector<std::string> executors = {"baseline", "l2l-recompute", "l2l-stash"};
  if (stash_memory > 0) executors.push_back("l2l-auto");
  for (int L : depths)
    for (const Row& r : run_depth(L, executors, steps, threads, clip, eps_threads, stash_memory)) rows.push_back(r);
  std::printf(
      "BERT-mini width, seq 128, batch 32 = 4 x 8, AdamW, clip %g, %d threads, %d EPS threads, %d timed "
      "steps%s\n\n",
      clip, threads, eps_threads, steps,
      stash_memory > 0 ? (", l2l-auto under --stash-memory " + format_bytes(stash_memory)).c_str() : "");
  std::printf(
      "| layers | executor | recomputed | device peak | host stash peak | step ms (min / median) | "
      "× baseline | tokens/s | EPS overlap |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  std::string csv_text =
      "layers,executor,recomputed_layers,device_peak_bytes,stash_peak_bytes,step_ms_min,step_ms_median,"
      "ratio_to_baseline,tokens_per_s,eps_overlap\n";
  for (const Row& r : rows) {
    const bool relay = r.executor != "baseline";
    std::printf(
        "| %d | %s | %s | %s | %s | %.0f / %.0f | %.2f | %.0f | %s |\n", r.layers, r.executor.c_str(),
        relay ? (std::to_string(r.recomputed) + " of " + std::to_string(r.relay_layers)).c_str() : "",
        format_bytes(r.device_peak).c_str(), format_bytes(r.stash_peak).c_str(), r.ms_min, r.ms_med, r.ratio,
        r.tokens_per_s,
        r.executor != "baseline" ? (std::to_string(r.overlap).substr(0, 4) + (r.eager ? " (eager)" : "")).c_str() : "");
    csv_text += std::to_string(r.layers) + "," + r.executor + "," + std::to_string(r.recomputed) + "," +
                std::to_string(r.device_peak) + "," + std::to_string(r.stash_peak) + "," + std::to_string(r.ms_min) +
                "," + std::to_string(r.ms_med) + "," + std::to_string(r.ratio) + "," + std::to_string(r.tokens_per_s) +
                "," + std::to_string(r.overlap) + "\n";
  }
  auto find = [&](int L, const char* ex) -> const Row* {
    for (const Row& r : rows)
      if (r.layers == L && r.executor == ex) return &r;
    return nullptr;
  };
  const Row *l_first = find(depths.front(), "l2l-recompute"), *l_last = find(depths.back(), "l2l-recompute");
  std::printf("\nL2L device peak at %d layers / at %d layers: %.3f\n", depths.back(), depths.front(),
              double(l_last->device_peak) / double(l_first->device_peak));
  if (const Row* b12 = find(12, "baseline"), *l12 = find(12, "l2l-recompute"), *n12 = find(12, "l2l-stash");
      b12 && l12 && n12)
    std::printf(
        "12 layers: L2L device peak %.3f x the baseline's (stashing saved activations: %.3f x); L2L step "
        "time %.2f x the baseline's (recompute on), %.2f x (off, what auto picks here), medians of per-round "
        "ratios; EPS overlap %.2f (on), %.2f (off)\n",
        double(l12->device_peak) / double(b12->device_peak), double(n12->device_peak) / double(b12->device_peak),
        l12->ratio, n12->ratio, l12->overlap, n12->overlap);
  std::vector<io::Panel> panels(2);
  panels[0] = {"device peak", "encoder layers", "MiB", {}, false, 0, false};
  panels[1] = {"step time", "encoder layers", "ms (median)", {}, false, 0, false};
  for (const char* ex : {"baseline", "l2l-recompute", "l2l-stash"}) {
    io::Series mem{ex, {}, {}, {}, -1, std::string(ex) != "baseline"}, time = mem;
    for (const Row& r : rows)
      if (r.executor == ex) {
        mem.x.push_back(r.layers);
        mem.y.push_back(double(r.device_peak) / (1 << 20));
        time.x.push_back(r.layers);
        time.y.push_back(r.ms_med);
      }
    panels[0].series.push_back(mem);
    panels[1].series.push_back(time);
  }
  write_file_atomic(svg, io::line_plot_svg(panels, "baseline vs L2L: BERT-mini width, seq 128, batch 32 (k = 4)"));
  write_file_atomic(csv, csv_text);
  std::printf("wrote %s and %s\n", svg.c_str(), csv.c_str());
  return 0;
}
