// strata train: trains a BERT sequence classifier (see train/trainer.h for what each flag does).
#include <cmath>
#include <memory>
#include <set>

#include "cli/common.h"
#include "strata/app/trainer.h"
#include "strata/core/error.h"
#include "strata/core/memory.h"

namespace strata::cli {

namespace {
struct TrainArgs {
  app::TrainOptions o;
  ExecutorFlags executor;
};

// What to train on and from: data, model, initial weights.
void add_model_options(CLI::App* sub, TrainArgs& args) {
  app::TrainOptions& o = args.o;
  sub->add_option("--data", o.data, "wordnet:lexname | PATH.tsv | PATH.jsonl | synthetic:vocab=V,classes=C,n=N");
  sub->add_option("--model", o.model, "preset (tiny mini small medium base large) or a config.json")
      ->default_val("mini");
  sub->add_option("--init", o.init,
                  "start from a pre-trained directory: strata's (pretrain/train --save) or a Hugging Face BERT "
                  "(config.json, model.safetensors; its vocab.txt becomes the tokenizer); a new classifier head");
  sub->add_option("--layers", o.layers, "override the number of encoder layers (0: the model's)")
      ->check(int_range(0, 10000));
}

// The schedule and optimizer, threads, budget and seed.
void add_schedule_options(CLI::App* sub, TrainArgs& args) {
  app::TrainOptions& o = args.o;
  sub->add_option("--seq-len", o.seq_len, "tokens per example, [CLS] and [SEP] included")
      ->check(int_range(3, 1'000'000))
      ->default_val(64);
  auto* steps = sub->add_option("--steps", o.steps, "optimizer steps")->check(int_range(1, kMaxSteps));
  sub->add_option("--epochs", o.epochs, "passes over the training split (default 1)")
      ->check(real_range(1e-9, 1e6))
      ->excludes(steps);
  sub->add_option("--lr", o.lr, "peak learning rate")->check(real_range(0, HUGE_VAL, true))->default_val(5e-4);
  sub->add_option("--warmup", o.warmup, "warm-up as a fraction of the steps (then linear decay)")
      ->check(real_range(0, 1))
      ->default_val(0.1);
  sub->add_option("--weight-decay", o.weight_decay, "decoupled weight decay")
      ->check(real_range(0, 1e6))
      ->default_val(0.01);
  sub->add_option("--clip", o.clip, "global gradient-norm clipping (0: off)")
      ->check(real_range(0, HUGE_VAL, true))
      ->default_val(1.0);
  sub->add_option("--optimizer", o.optimizer, "adamw | lamb")->default_val("adamw");
  sub->add_option("--dropout", o.dropout, "every dropout probability (default: the config's, 0.1 for presets)")
      ->check(real_range(0, 1, /*hi_open=*/true));
  sub->add_option("--threads", o.threads, "compute threads (0: all cores)")->check(thread_range())->default_val(0);
  sub->add_option("--seed", o.seed, "initialisation, data order and dropout seed")
      ->check(int_range(0, kMaxSeed))
      ->default_val(0);
}

// Outputs, resume, tokenizer and flags.
void add_output_options(CLI::App* sub, app::TrainOptions& o) {
  sub->add_option("--save", o.save, "write a checkpoint directory at the end");
  sub->add_option("--save-every", o.save_every, "also checkpoint every N steps (needs --save; 0: off)")
      ->check(int_range(0, kMaxSteps))
      ->default_val(0);
  sub->add_option("--stop-at", o.stop_at, "stop (and save) after this step of the planned schedule (0: run it all)")
      ->check(int_range(0, kMaxSteps))
      ->default_val(0);
  sub->add_option("--resume", o.resume, "continue the run saved in this checkpoint directory");
  sub->add_option("--log", o.log, "per-step metrics as JSON lines");
  sub->add_option("--report", o.report, "summary JSON (speed, memory, loss, accuracy)");
  sub->add_option("--tokenizer", o.tokenizer,
                  "a SentencePiece .model, a WordPiece vocab.txt, or a directory holding one (default: train a "
                  "SentencePiece model on the training texts)");
  sub->add_option("--vocab-size", o.vocab_size, "pieces of a trained tokenizer")
      ->check(int_range(8, 10'000'000))
      ->default_val(8192);
  sub->add_flag("--quiet", o.quiet, "no progress on stderr");
}

}  // namespace

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  CLI::App* sub = app.add_subcommand("train", "train a BERT-style encoder for sequence classification");
  sub->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);  // scripts append overrides
  add_model_options(sub, *a);
  sub->add_option("--batch", a->o.batch, "examples per optimizer step")
      ->check(int_range(1, 1'000'000))
      ->default_val(32);
  a->executor.add(sub, a->o, "baseline (whole model on the device) | l2l (layer-to-layer relay)", "8");
  sub->add_flag("--shard-optimizer", a->o.shard_optimizer,
                "l2l under mpirun: each process keeps the optimizer state of 1/N of every layer");
  add_schedule_options(sub, *a);
  add_output_options(sub, a->o);
  sub->callback([a, sub] {
    if (a->o.data.empty() && a->o.resume.empty()) bad_input("train: --data is required (or --resume DIR)");
    a->executor.apply(a->o);
    const std::set<std::string> given = given_options(*sub);
    if (!a->o.resume.empty() && !given.count("data")) a->o.data = "";
    app::TrainOptions o = a->o;
    if (o.data.empty() && o.resume.empty()) bad_input("train: --data is required");
    app::train(o, given, progress_sink());
  });
}

}  // namespace strata::cli
