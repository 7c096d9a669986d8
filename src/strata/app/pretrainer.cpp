// The pre-training driver: text -> tokenizer -> token rows; BertMlm + MlmRunner on the backend; per step a batch of
// rows in the epoch's seeded order, masked with the step as key; AdamW per slab with global-norm clipping; at the end
// the held-out split's MLM loss and masked-token accuracy (masked with fixed keys, so every run scores the same
// positions) and a BertForMaskedLM checkpoint.
#include "strata/app/pretrainer.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <span>

#include "strata/app/mlm_engine.h"
#include "strata/app/pretrain_state.h"
#include "strata/app/token_data.h"
#include "strata/app/train_options.h"
#include "strata/backend/backend.h"
#include "strata/core/error.h"
#include "strata/core/file.h"
#include "strata/data/mlm_masking.h"
#include "strata/data/tokenizer.h"
#include "strata/dist/process_group.h"
#include "strata/io/safetensors.h"
#include "strata/model/bert_mlm.h"
#include "strata/train/checkpoint.h"
#include "strata/train/optim.h"
#include "strata/train/schedule.h"

namespace strata::app {

namespace fs = std::filesystem;

namespace {

void validate(const PretrainOptions& o) {
  if (o.data.empty()) bad_input("pretrain: --data is required");
  if (o.batch < 1) bad_input("--batch must be at least 1, given ", o.batch);
  if (o.seq_len < 3) bad_input("--seq-len must be at least 3, given ", o.seq_len);
  if (!(o.mask_prob > 0.0 && o.mask_prob < 1.0)) bad_input("--mask-prob must be in (0, 1), given ", o.mask_prob);
  if (!(o.lr > 0.0)) bad_input("--lr must be positive, given ", o.lr);
  if (!(o.warmup >= 0.0 && o.warmup <= 1.0)) bad_input("--warmup must be in [0, 1], given ", o.warmup);
  if (o.eval_rows < 0) bad_input("--eval-rows must be >= 0, given ", o.eval_rows);
  if (o.save_every < 0 || o.stop_at < 0) bad_input("--save-every and --stop-at must be >= 0");
  if (o.save_every > 0 && o.save.empty()) bad_input("--save-every needs --save DIR (where the checkpoints go)");
  if (!o.save.empty()) train::check_checkpoint_target(o.save);
}

// The (B, T) inputs and labels of rows[0..B) of ds, masked with (seed, key).
struct MaskedRows {
  std::vector<std::int32_t> ids, labels;  // (B, T)
  std::vector<float> key_mask;            // (B, T)
  model::MlmBatch batch(int B, int T) const {
    return model::MlmBatch{B, T, ids.data(), key_mask.data(), nullptr, labels.data()};
  }
  // Rows [r0, r0 + n) (this process's share of a data-parallel batch).
  MaskedRows slice(int r0, int n, std::size_t T) const {
    MaskedRows out;
    const auto from = static_cast<std::ptrdiff_t>(r0 * T), to = static_cast<std::ptrdiff_t>((r0 + n) * T);
    out.ids.assign(ids.begin() + from, ids.begin() + to);
    out.labels.assign(labels.begin() + from, labels.begin() + to);
    out.key_mask.assign(key_mask.begin() + from, key_mask.begin() + to);
    return out;
  }
  // Rows past the masked ones up to B: copies of the first row that predict nothing.
  void pad_to(int B, std::size_t T) {
    const std::size_t have = ids.size() / T;
    for (std::size_t r = have; r < static_cast<std::size_t>(B); ++r) {
      ids.insert(ids.end(), ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(T));
      key_mask.insert(key_mask.end(), key_mask.begin(), key_mask.begin() + static_cast<std::ptrdiff_t>(T));
      labels.insert(labels.end(), T, model::kIgnore);
    }
  }
};

MaskedRows mask_rows(const data::TokenDataset& ds, const std::size_t* rows, int B, const data::MaskingOptions& m,
                     std::uint64_t seed, std::uint64_t key) {
  const std::size_t T = static_cast<std::size_t>(ds.T);
  std::vector<std::int32_t> ids(B * T);
  std::vector<std::uint8_t> real(B * T);
  MaskedRows out;
  out.key_mask.resize(B * T);
  for (int r = 0; r < B; ++r) {
    std::copy_n(ds.ids.data() + rows[r] * T, T, ids.data() + r * T);
    std::copy_n(ds.mask.data() + rows[r] * T, T, real.data() + r * T);
  }
  std::transform(real.begin(), real.end(), out.key_mask.begin(), [](std::uint8_t x) { return float(x); });
  out.ids.resize(B * T);
  out.labels.resize(B * T);
  data::mask_tokens(ids.data(), real.data(), B, static_cast<int>(T), m, seed, key, out.ids.data(), out.labels.data());
  return out;
}

struct Eval {
  double loss = 0.0, accuracy = 0.0;
  std::int64_t predicted = 0;
};

// This process's share of every global batch (data parallel under mpirun: rows [r B/n, (r+1) B/n), in rank order).
struct Share {
  int rank = 0, ranks = 1;
  static Share of_world() { return {dist::world().rank(), dist::world().size()}; }
  int rows(int B) const { return B / ranks; }
  // The global batch's rows this process runs (all of them in one process).
  MaskedRows mine(const MaskedRows& all, int B, std::size_t T) const {
    return ranks == 1 ? all : all.slice(rank * rows(B), rows(B), T);
  }
};

// The held-out split in batches of B rows (the last one padded with rows that predict nothing), each masked with a
// fixed key, so every run scores the same positions whatever its executor or process count.
Eval evaluate(MlmEngine& engine, const data::TokenDataset& te, int rows, int B, const data::MaskingOptions& m,
              const Share& share) {
  const int n = rows > 0 ? std::min(rows, te.n) : te.n;
  double loss_sum = 0.0;
  std::int64_t correct = 0;
  Eval e;
  std::vector<std::size_t> idx(static_cast<std::size_t>(B));
  const std::size_t T = static_cast<std::size_t>(te.T);
  for (int from = 0; from < n; from += B) {
    const int b = std::min(B, n - from);
    for (int r = 0; r < B; ++r) idx[r] = static_cast<std::size_t>(from + std::min(r, b - 1));
    // Keyed by the first row: the same held-out positions whatever the batch size of the run.
    MaskedRows mr = mask_rows(te, idx.data(), b, m, 0x5eedull, 0xe7a1000000ull + static_cast<std::uint64_t>(from));
    mr.pad_to(B, T);
    const MlmStepResult r = engine.evaluate(share.mine(mr, B, T).batch(share.rows(B), te.T));  // summed over ranks
    loss_sum += r.loss * static_cast<double>(r.predicted);
    correct += r.correct;
    e.predicted += r.predicted;
  }
  if (e.predicted > 0) e.loss = loss_sum / e.predicted, e.accuracy = double(correct) / e.predicted;
  return e;
}

// Tokenizer: --tokenizer, else one trained on the training texts (SentencePiece, with [MASK]).
std::string find_tokenizer(const PretrainOptions& o, const data::TextDataset& texts, const TempDir& tmp,
                           ProgressSink& say) {
  if (!o.tokenizer.empty()) {
    const std::string p = data::Tokenizer::resolve(o.tokenizer);
    if (p.empty()) bad_input("--tokenizer ", o.tokenizer, ": holds no vocab.txt or tokenizer.model");
    return p;
  }
  dist::ProcessGroup& w = dist::world();
  std::string path;
  if (w.is_root()) {  // data parallel: one process trains it, the others receive the file
    if (!o.quiet)
      say.message(
          cat("training a SentencePiece tokenizer (", o.vocab_size, " pieces) on ", texts.texts.size(), " texts"));
    path = data::Tokenizer::train(texts.texts, o.vocab_size, tmp.path(), o.seed).model_path();
  }
  return w.size() > 1 ? dist::share_root_file(w, path, tmp.path() + "/shared.model") : path;
}

model::BertConfig config(const PretrainOptions& o, const data::TokenDataset& train) {
  TrainOptions t;
  t.model = o.model;
  t.layers = o.layers;
  t.dropout = o.dropout;
  t.seq_len = o.seq_len;
  data::TokenDataset shape = train;
  shape.num_classes = 1;
  shape.classes = {"text"};
  return config_for(t, shape);
}

struct Setup {
  data::TokenDataset train, test;
  std::string tokenizer_path;
  data::MaskingOptions masking;
};

Setup load(const PretrainOptions& o, const TempDir& tmp, ProgressSink& sink) {
  const data::TextDataset train_text = data::load_text(o.data, "train");
  const data::TextDataset test_text = data::load_text(o.data, "test");
  Setup s;
  s.tokenizer_path = find_tokenizer(o, train_text, tmp, sink);
  const data::Tokenizer tok = data::Tokenizer::load(s.tokenizer_path);
  if (tok.mask_id() < 0) bad_input(s.tokenizer_path, ": the vocabulary has no [MASK] token; MLM needs one");
  s.train = tok.encode(train_text, o.seq_len);
  s.test = tok.encode(test_text, o.seq_len);
  if (s.train.n < o.batch)
    bad_input(o.data, ": the training split has ", s.train.n, " texts, fewer than --batch ", o.batch);
  s.masking.mask_prob = o.mask_prob;
  s.masking.mask_id = tok.mask_id();
  s.masking.vocab = tok.vocab_size();
  s.masking.specials = {tok.pad_id(), tok.cls_id(), tok.sep_id(), tok.unk_id(), tok.mask_id()};
  return s;
}

MlmEngineOptions engine_options(const PretrainOptions& o) {
  MlmEngineOptions e;
  e.executor = o.executor;
  e.micro_batch = o.micro_batch;
  e.device_dtype = o.device_dtype;
  e.eps_threads = o.eps_threads;
  e.stash = o.stash;
  e.recompute = o.recompute;
  e.stash_memory = o.stash_memory;
  e.backend = o.backend;
  e.device_memory = o.device_memory;
  e.threads = o.threads;
  e.seed = o.seed;
  e.optim.weight_decay = static_cast<float>(o.weight_decay);
  e.optim.clip = o.clip;
  e.optim.name = o.optimizer;
  if (dist::world().size() > 1) e.group = &dist::world();
  return e;
}

// What a run's steps need.
struct RunContext {
  const PretrainOptions& o;
  const Setup& s;
  const model::BertMlm& model;
  MlmEngine& engine;
  ProgressSink& sink;
  std::int64_t total;  // steps of the schedule
  Share share;
  bool root() const { return share.rank == 0; }
};

// A cancel lands between steps. Data parallel: the processes agree first (a cancel on any stops all at the same
// step, and all take part in its checkpoint).
bool cancel_agreed(const RunContext& c) {
  bool cancel = c.sink.cancel_requested();
  if (c.share.ranks > 1) {
    double any = cancel ? 1.0 : 0.0;
    dist::world().all_reduce_sum(&any, 1);
    cancel = any > 0;
  }
  return cancel;
}

[[noreturn]] void diverged(const RunContext& c, std::int64_t step, double loss, double lr) {
  internal_error("pre-training diverged: the MLM loss became ", loss, " at step ", step + 1, " (learning rate ", lr,
                 "); the diverged state was not saved",
                 c.o.save.empty() ? std::string() : cat(" (", c.o.save, " holds the last good checkpoint, if any)"),
                 "; try a lower --lr (now ", c.o.lr, ")");
}

// Steps [start, end) of the schedule: per step a batch of rows in the epoch's seeded order, masked with the step as
// key (so a resumed run sees what an uninterrupted one would). Appends one JSON line per step to `log`; with
// --save-every, checkpoints go straight to --save; a cancel saves one (with --save) before stopping.
std::vector<double> run_steps(const RunContext& c, std::int64_t start, std::int64_t end, std::string& log) {
  const PretrainOptions& o = c.o;
  const std::int64_t per_epoch = c.s.train.n / o.batch;
  const auto sched = train::LinearWarmupDecay::with_warmup_fraction(o.lr, c.total, o.warmup);
  std::vector<std::size_t> order;
  std::int64_t order_epoch = -1;
  std::vector<double> losses;
  const auto loop0 = std::chrono::steady_clock::now();
  for (std::int64_t step = start; step < end; ++step) {
    if (cancel_agreed(c)) {
      if (!o.save.empty()) save_pretrain_checkpoint(o.save, o, c.model, c.engine, step, c.s.tokenizer_path, c.root());
      throw Cancelled();
    }
    const std::int64_t epoch = step / per_epoch;
    if (epoch != order_epoch)
      order = epoch_order(static_cast<std::size_t>(c.s.train.n), o.seed, epoch), order_epoch = epoch;
    const MaskedRows all = mask_rows(c.s.train, order.data() + (step % per_epoch) * o.batch, o.batch, c.s.masking,
                                     o.seed, static_cast<std::uint64_t>(step));
    const MaskedRows mr = c.share.mine(all, o.batch, static_cast<std::size_t>(o.seq_len));
    const double lr = sched.lr(step);
    const auto t0 = std::chrono::steady_clock::now();
    const MlmStepResult r = c.engine.step(mr.batch(c.share.rows(o.batch), o.seq_len), step, lr);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (!std::isfinite(r.loss)) diverged(c, step, r.loss, lr);
    if (!r.updated && !o.quiet) c.sink.message(cat("step ", step + 1, ": non-finite gradient norm, update skipped"));
    losses.push_back(r.loss);
    log += nlohmann::json{{"step", step},         {"loss", r.loss},     {"lr", lr}, {"predicted", r.predicted},
                          {"updated", r.updated}, {"ms", seconds * 1e3}}
               .dump() +
           "\n";
    if (o.save_every > 0 && (step + 1) % o.save_every == 0 && step + 1 < end)
      save_pretrain_checkpoint(o.save, o, c.model, c.engine, step + 1, c.s.tokenizer_path, c.root());
    const double per_step =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - loop0).count() / (step + 1 - start);
    StepProgress sp;
    sp.step = step + 1, sp.total = c.total, sp.loss = r.loss, sp.lr = lr;
    sp.tokens_per_s = per_step > 0 ? static_cast<double>(o.batch) * o.seq_len / per_step : 0.0;
    sp.eta_seconds = per_step * static_cast<double>(end - step - 1);
    if (!o.quiet) c.sink.step(sp);
  }
  return losses;
}

// The engine's starting state: the checkpoint's (--resume) or BertMlm's initialisation. Returns the first step.
std::int64_t initial_state(const PretrainOptions& o, const nlohmann::json& resume_state, const model::BertMlm& model,
                           MlmEngine& engine) {
  const std::size_t n = model.total_floats();
  std::vector<float> p(n);
  if (o.resume.empty()) {
    model.init(p.data(), o.seed);
    engine.write_state(p.data(), nullptr, nullptr, 0, 0);
    return 0;
  }
  const PretrainResume r = load_resume(o.resume, resume_state, model);
  const model::Bert relay(model.bert().config(), model::Head::kMaskedLm);
  std::vector<float> m(n), v(n);
  relay_to_mlm_layout(model, relay, r.checkpoint.params.data(), p.data());
  relay_to_mlm_layout(model, relay, r.checkpoint.m.data(), m.data());
  relay_to_mlm_layout(model, relay, r.checkpoint.v.data(), v.data());
  engine.write_state(p.data(), m.data(), v.data(), r.steps_done, r.updates_done);
  return r.steps_done;
}

nlohmann::json make_report(const PretrainOptions& o, const Setup& s, const MlmEngine& engine,
                           const std::vector<double>& losses, const Eval& ev, std::int64_t start, std::int64_t end,
                           std::int64_t total) {
  return {{"command", "pretrain"},
          {"data", o.data},
          {"steps", total},
          {"first_step", start},
          {"steps_done", end},
          {"batch", o.batch},
          {"seq_len", o.seq_len},
          {"vocab", s.masking.vocab},
          {"first_loss", losses.empty() ? 0.0 : losses.front()},
          {"final_loss", losses.empty() ? 0.0 : losses.back()},
          {"losses", losses},
          {"eval_mlm_loss", ev.loss},
          {"eval_masked_accuracy", ev.accuracy},
          {"eval_predicted_tokens", ev.predicted},
          {"executor", o.executor},
          {"device_peak_bytes", engine.device_peak_bytes()}};
}

// The final checkpoint, log and report: each written to its staged name, then renamed into place together.
// Data parallel: every process takes part in the checkpoint (sharded state is gathered); rank 0 alone writes.
void publish(OutputSet& outs, const PretrainOptions& o, const model::BertMlm& model, MlmEngine& engine,
             std::int64_t steps, const std::string& tokenizer_path, const std::string& log,
             const nlohmann::json& report, ProgressSink& sink) {
  const bool root = dist::world().is_root();
  if (!o.save.empty())
    save_pretrain_checkpoint(root ? outs.staged(o.save) : o.save, o, model, engine, steps, tokenizer_path, root);
  if (!root) return;
  if (!o.log.empty()) write_file_atomic(outs.staged(o.log), log);
  if (!o.report.empty()) write_file_atomic(outs.staged(o.report), report.dump(2) + "\n");
  outs.commit();
  if (o.quiet) return;
  if (!o.save.empty()) sink.wrote(o.save, "checkpoint (BertForMaskedLM, resumable)");
  if (!o.log.empty()) sink.wrote(o.log, "log");
  if (!o.report.empty()) sink.wrote(o.report, "report");
}

}  // namespace

PretrainResult pretrain(const PretrainOptions& options, ProgressSink& sink) {
  PretrainOptions o = options;
  const nlohmann::json resume_state = o.resume.empty() ? nlohmann::json() : apply_resume_options(o);
  validate(o);
  const Share share = Share::of_world();
  if (share.ranks > 1) {  // data parallel: rank 0 alone prints and writes (all take part in checkpoints)
    if (o.executor != "l2l") bad_input("under mpirun, pretrain runs --executor l2l (the baseline is one process)");
    if (o.batch % (share.ranks * std::max(1, o.micro_batch)) != 0)
      bad_input("--batch ", o.batch, " does not split over ", share.ranks, " processes",
                o.micro_batch > 0 ? cat(" x --micro-batch ", o.micro_batch) : std::string());
    if (share.rank != 0) o.quiet = true, o.log.clear(), o.report.clear();
  }
  const auto wall0 = std::chrono::steady_clock::now();
  auto say = [&](const std::string& m) {
    if (!o.quiet) sink.message(m);
  };
  OutputSet outs;  // checked now, before any work; published together at the end
  if (share.rank == 0) {
    outs.add("--save", o.save, /*directory=*/true);
    outs.add("--log", o.log);
    outs.add("--report", o.report);
  }
  TempDir tmp("strata-pretrain");
  const Setup s = load(o, tmp, sink);
  const model::BertMlm model(config(o, s.train));
  const std::unique_ptr<MlmEngine> engine = make_mlm_engine(model, engine_options(o), share.rows(o.batch), o.seq_len);
  const std::int64_t start = initial_state(o, resume_state, model, *engine);
  const std::int64_t per_epoch = s.train.n / o.batch, total = o.steps > 0 ? o.steps : per_epoch;
  if (o.stop_at > total) bad_input("--stop-at ", o.stop_at, " is past the end of the schedule (", total, " steps)");
  if (start > total) bad_input("--resume ", o.resume, ": the checkpoint is at step ", start, ", past --steps ", total);
  if (o.stop_at > 0 && o.stop_at <= start)
    bad_input("--stop-at ", o.stop_at, ": the resumed run is already at step ", start);
  const std::int64_t end = o.stop_at > 0 ? o.stop_at : total;
  say(cat("MLM pre-training: ", model.bert().config().num_hidden_layers, " layers, hidden ",
          model.bert().config().hidden_size, ", vocabulary ", s.masking.vocab, ", ", model.total_floats(),
          " parameter floats; ", s.train.n, " training texts, ", s.test.n, " held-out; steps ", start + 1, "..", end,
          " of ", total, " (", o.batch, " x ", o.seq_len, "); ", engine->describe()));
  PretrainResult res;
  std::string log;
  const RunContext ctx{o, s, model, *engine, sink, total, share};
  res.losses = run_steps(ctx, start, end, log);
  say(cat("evaluating MLM on ", o.eval_rows > 0 ? std::min(o.eval_rows, s.test.n) : s.test.n, " held-out texts"));
  const Eval ev = evaluate(*engine, s.test, o.eval_rows, o.batch, s.masking, share);
  say(cat("held-out MLM loss ", ev.loss, ", masked-token accuracy ", ev.accuracy, " (", ev.predicted, " tokens)"));
  res.report = make_report(o, s, *engine, res.losses, ev, start, end, total);
  res.report["processes"] = share.ranks;
  res.report["seconds_total"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  publish(outs, o, model, *engine, end, s.tokenizer_path, log, res.report, sink);
  return res;
}

}  // namespace strata::app
