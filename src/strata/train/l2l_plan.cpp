// The L2L device plan: its sizes for a step shape, and the planner's choice of micro-batch and of the layers whose
// saved activations are stashed instead of recomputed (--recompute auto), with the exit-3 messages.
#include "strata/train/l2l_plan.h"

#include <algorithm>

#include "strata/core/error.h"
#include "strata/train/l2l_rows.h"

namespace strata::train {

bool L2LPlan::any_stashed() const { return std::find(stashed.begin(), stashed.end(), 1) != stashed.end(); }

int L2LPlan::recomputed_layers() const { return static_cast<int>(std::count(stashed.begin(), stashed.end(), 0)); }

std::size_t L2LPlan::bytes_in(Space space) const {
  L2LBuffers scratch;
  CountBytes count{space};
  lay_out(scratch, count);
  return count.total;
}

L2LPlanner::L2LPlanner(const model::Bert& model, const ExecutorOptions& options) : model_(model), opt_(options) {}

std::vector<char> L2LPlanner::initial_stashed() const {
  std::vector<char> stashed(model_.num_layers(), opt_.recompute == Recompute::kOff);
  if (model_.head() == model::Head::kMaskedLm) stashed.back() = 0;  // its decoder stage recomputes the transform
  return stashed;
}

// The largest slab on the device for steps of B x T: layer 0 holds at most min(V, B*T) word rows.
std::size_t L2LPlanner::max_slab_floats(int B, int T) const {
  const std::size_t vocab = static_cast<std::size_t>(model_.embeddings().config().vocab);
  std::size_t best = compact_embedding_floats(model_, std::min(vocab, static_cast<std::size_t>(B) * T));
  for (int l = 1; l < model_.num_layers(); ++l) best = std::max(best, relay_slab_floats(model_, l));
  return best;
}

// The saved activations of layer l for every micro-batch of b (what stashing them instead of recomputing costs).
std::size_t L2LPlanner::layer_saved_stash(int l, int B, int T, int b) const {
  return model_.layer(l).saved_bytes(b, T) * static_cast<std::size_t>(B / b);
}

L2LPlan L2LPlanner::plan(int B, int T, int b, const std::vector<char>& stashed) const {
  const int L = model_.num_layers();
  const std::size_t C = model_.config().hidden_size, tokens = static_cast<std::size_t>(B) * T;
  L2LPlan p;
  p.B = B;
  p.T = T;
  p.b = b;
  p.bf16 = opt_.device_dtype == DType::kBF16;
  p.stashed = stashed;
  p.slab_floats = max_slab_floats(B, T);
  p.act_bytes = static_cast<std::size_t>(b) * T * C * sizeof(float);
  const bool mlm = model_.head() == model::Head::kMaskedLm;
  p.labels = mlm ? 0 : model_.config().num_labels;
  p.hidden = static_cast<int>(C);
  p.mlm_chunk = mlm ? mlm_chunk_rows(model_) : 0;
  if (mlm) p.stashed.back() = 0;
  for (int l = 0; l < L; ++l) {  // one layer at a time: the largest one's
    p.saved_bytes = std::max(p.saved_bytes, model_.layer(l).saved_bytes(b, T));
    p.workspace_bytes = std::max(p.workspace_bytes, model_.layer(l).workspace_bytes(b, T));
  }
  StashLayout& s = p.stash;
  s.space = opt_.stash;
  s.boundaries = L - 1;
  s.output_bytes = tokens * C * p.elem();
  s.output_micro_bytes = static_cast<std::size_t>(b) * T * C * p.elem();
  s.grad_micro_bytes = p.act_bytes;
  s.grad_bytes = tokens * C * sizeof(float);
  for (int l = 0; l < L; ++l) {
    s.saved_micro_bytes.push_back(model_.layer(l).saved_bytes(b, T));
    s.saved_offset.push_back(s.saved_total);
    if (p.stashed[l] && b > 0) s.saved_total += layer_saved_stash(l, B, T, b);
  }
  return p;
}

// The micro-batch the device budget allows with these layers' saved activations stashed, 0: none.
int L2LPlanner::fitting(backend::Backend& be, int B, int T, const std::vector<char>& stashed) const {
  return fitting_micro_batch(be, opt_.micro_batch, B, [&](int b) { return plan(B, T, b, stashed).device_bytes(); });
}

// What the host stash may hold: the stash space's budget, else half the host memory available now.
static std::size_t stash_limit(backend::Backend& be) {
  const std::size_t budget = be.memory().stash().budget();
  return budget > 0 ? budget : available_host_memory() / 2;
}

// --recompute auto at micro-batch b: stash the saved activations of as many layers as fit (encoder layers first:
// the most compute saved per byte) without changing b; recompute the others.
std::vector<char> L2LPlanner::choose_stashed(backend::Backend& be, int B, int T, int b) const {
  const bool host_stash = opt_.stash != Space::kDevice;
  const int L = model_.num_layers();
  std::vector<char> stashed(L, 0);
  const std::size_t limit = stash_limit(be), outputs = plan(B, T, b, stashed).stash.activations_total();
  std::size_t room = host_stash && limit > outputs ? limit - outputs : 0;
  for (const bool encoders : {true, false})
    for (int l = 0; l < L; ++l) {
      if (stashed[l] || model_.layer(l).kind() == "mlm_head" || (model_.layer(l).kind() == "encoder") != encoders)
        continue;
      const std::size_t bytes = layer_saved_stash(l, B, T, b);
      stashed[l] = 1;  // for fitting(): with --stash device the stash is part of the device footprint
      if (host_stash ? bytes > room : fitting(be, B, T, stashed) != b) {
        stashed[l] = 0;
        continue;
      }
      if (host_stash) room -= bytes;
    }
  return stashed;
}

std::string L2LPlanner::device_parts(int B, int T) const {
  const bool bf16 = opt_.device_dtype == DType::kBF16;
  const std::size_t elem = bf16 ? sizeof(std::uint16_t) : sizeof(float);
  return cat(bf16 ? "a bf16 slot and an fp32 working copy" : "two slots", " of the largest layer (",
             format_bytes(max_slab_floats(B, T) * elem), " each), its gradient, one micro-batch's activations",
             model_.head() == model::Head::kMaskedLm ? ", the MLM decoder's vocabulary chunks and logits tile" : "",
             opt_.stash == Space::kDevice ? ", the stash" : "");
}

void L2LPlanner::check_stash_budget(backend::Backend& be, const L2LPlan& plan) const {
  const std::size_t budget = be.memory().stash().budget(), need = plan.stash_bytes();
  if (opt_.stash == Space::kDevice || budget == 0 || need <= budget) return;
  resource_error("the L2L stash needs ", format_bytes(need), " of host memory for batch ", plan.B, " x ", plan.T,
                 plan.any_stashed() ? " (every layer's saved activations; --recompute on needs less)"
                                    : " (every layer's output and one layer's output gradient)",
                 ", but --stash-memory is ", format_bytes(budget), "; the smallest budget that works is ", need,
                 " bytes (", format_bytes(need), ")");
}

L2LPlan L2LPlanner::choose(backend::Backend& be, int B, int T) const {
  const int L = model_.num_layers();
  std::vector<char> stashed = initial_stashed();
  int b = 0;
  if (opt_.recompute == Recompute::kAuto) {
    // Stash saved activations only at the micro-batch that recomputing everything would get.
    const int on = fitting(be, B, T, std::vector<char>(L, 0));
    const int off = fitting(be, B, T, std::vector<char>(L, 1));
    stashed.assign(L, 0);
    if (on > 0 && off == on) {
      stashed = choose_stashed(be, B, T, on);
      b = on;
    }
  }
  if (b == 0)
    b = plan_micro_batch(
        be, opt_.micro_batch, B, T, [&](int mb) { return plan(B, T, mb, stashed).device_bytes(); }, "L2L",
        device_parts(B, T));
  return plan(B, T, b, stashed);
}

}  // namespace strata::train
