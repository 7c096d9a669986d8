// The two ways `strata pretrain` runs a masked-LM step, behind one interface: the baseline (model::MlmRunner, every
// layer resident, AdamW on host arrays) and L2L (train/l2l.h with the masked-LM head: the device holds one layer and
// streams the tied decoder by vocabulary chunks, the eager param-server keeps the weights). Both start from
// BertMlm's initialisation and hand back parameters in BertMlm's layout (what the checkpoint writer names).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "strata/backend/backend.h"
#include "strata/model/bert_mlm.h"
#include "strata/train/executor.h"

namespace strata::app {

struct MlmStepResult {
  double loss = 0.0;  // mean over the predicted positions
  std::int64_t predicted = 0, correct = 0;
  bool updated = true;  // false: non-finite gradient, update skipped
};

struct MlmEngineOptions {
  std::string executor = "baseline";  // baseline | l2l
  int micro_batch = 0;                // l2l: 0 = the largest that fits the device budget
  std::string device_dtype = "f32";   // l2l
  int eps_threads = 2;                // l2l
  std::string stash = "host";         // l2l: host | device
  std::string recompute = "auto";     // l2l: auto | on | off (train/executor.h)
  std::size_t stash_memory = 0;       // l2l: host bytes the stash may use; 0: half the available memory
  std::size_t device_memory = 0;      // 0: no limit
  std::string backend = "cpu";        // cpu, or cuda where the build has it
  int threads = 0;
  std::uint64_t seed = 0;
  train::OptimConfig optim;             // adamw; clip, weight decay
  dist::ProcessGroup* group = nullptr;  // data parallel (l2l): this process steps on its share of each batch
};

class MlmEngine {
 public:
  virtual ~MlmEngine() = default;
  // One optimizer step on a batch (labels: original ids at predicted positions, model::kIgnore elsewhere); step is
  // 0-based (dropout keys, bias correction).
  virtual MlmStepResult step(const model::MlmBatch& batch, std::int64_t step, double lr) = 0;
  // Forward only, dropout off.
  virtual MlmStepResult evaluate(const model::MlmBatch& batch) = 0;
  // Parameters in BertMlm's layout (model().total_floats()), and, when not null, the optimizer's moments.
  virtual void read_state(float* params, float* m, float* v) = 0;
  virtual void write_state(const float* params, const float* m, const float* v, std::int64_t steps,
                           std::int64_t updates) = 0;
  virtual std::int64_t updates_done() const = 0;  // optimizer updates applied (skipped steps not counted)
  virtual std::size_t device_peak_bytes() const = 0;
  virtual std::string describe() const = 0;  // e.g. "l2l, micro-batch 8, device plan 12.3 MiB"
};

// BertMlm's parameter layout <-> model::Bert(Head::kMaskedLm)'s (what checkpoints and the L2L relay use), tensor by
// tensor (BertMlm's unused classifier slab is left zero).
void mlm_to_relay_layout(const model::BertMlm& mlm, const model::Bert& relay, const float* from, float* to);
void relay_to_mlm_layout(const model::BertMlm& mlm, const model::Bert& relay, const float* from, float* to);

// The engine for a model and a step shape (B x T); resource_error (exit 3) when the device budget cannot hold it.
std::unique_ptr<MlmEngine> make_mlm_engine(const model::BertMlm& model, const MlmEngineOptions& options, int B, int T);

}  // namespace strata::app
