// strata pretrain: masked-language-model pre-training (see app/pretrainer.h).
#include <memory>

#include "cli/common.h"
#include "strata/app/pretrainer.h"
#include "strata/core/error.h"
#include "strata/core/memory.h"

namespace strata::cli {

namespace {
struct PretrainArgs {
  app::PretrainOptions o;
  ExecutorFlags executor;
};

}  // namespace

void register_pretrain(CLI::App& app) {
  auto a = std::make_shared<PretrainArgs>();
  app::PretrainOptions* o = &a->o;
  CLI::App* sub = app.add_subcommand("pretrain", "masked-language-model pre-training of a BERT encoder on text");
  sub->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--data", o->data,
                  "PATH.txt (one text a line) | PATH.tsv | PATH.jsonl (a text column) | wordnet:lexname");
  sub->add_option("--model", o->model, "preset (tiny mini small medium base large) or a config.json")
      ->default_val("mini");
  sub->add_option("--layers", o->layers, "override the number of encoder layers")->check(int_range(0, 1000));
  sub->add_option("--tokenizer", o->tokenizer,
                  "a SentencePiece .model, a WordPiece vocab.txt, or a directory holding one (default: train a "
                  "SentencePiece model on the training texts)");
  sub->add_option("--vocab-size", o->vocab_size, "pieces of a trained tokenizer")
      ->default_val(8192)
      ->check(int_range(8, 1 << 20));
  sub->add_option("--batch", o->batch, "texts per step")->default_val(32)->check(int_range(1, 1 << 20));
  sub->add_option("--seq-len", o->seq_len, "tokens per text, [CLS] and [SEP] included")
      ->default_val(64)
      ->check(int_range(3, 1 << 16));
  sub->add_option("--steps", o->steps, "optimizer steps (default: one epoch)")->check(int_range(0LL, 1LL << 40));
  sub->add_option("--lr", o->lr, "peak learning rate")->default_val(5e-4)->check(real_range(1e-12, 10.0));
  sub->add_option("--warmup", o->warmup, "warm-up as a fraction of the steps")
      ->default_val(0.1)
      ->check(real_range(0.0, 1.0));
  sub->add_option("--weight-decay", o->weight_decay, "decoupled weight decay")
      ->default_val(0.01)
      ->check(real_range(0.0, 1.0));
  sub->add_option("--clip", o->clip, "global gradient-norm clipping (0: off)")
      ->default_val(1.0)
      ->check(real_range(0.0, 1e6));
  sub->add_option("--mask-prob", o->mask_prob, "fraction of tokens chosen for prediction (BERT: 0.15)")
      ->default_val(0.15)
      ->check(real_range(0.001, 0.999));
  sub->add_option("--dropout", o->dropout, "every dropout probability (default: the config's)")
      ->check(real_range(0.0, 0.99));
  sub->add_option("--eval-rows", o->eval_rows, "held-out texts scored at the end (0: all)")
      ->default_val(2048)
      ->check(int_range(0, 1 << 30));
  sub->add_option("--threads", o->threads, "compute threads (0: all cores)")->default_val(0)->check(thread_range());
  sub->add_option("--seed", o->seed, "initialisation, data order, masking and dropout seed")->default_val(0);
  sub->add_option("--save", o->save,
                  "a BertForMaskedLM checkpoint directory at the end (resumable: optimizer state included)");
  sub->add_option("--save-every", o->save_every, "also a checkpoint in --save every N steps (0: off)")
      ->check(int_range(0LL, 1LL << 40));
  sub->add_option("--stop-at", o->stop_at, "stop after step N of the schedule (0: run it all)")
      ->check(int_range(0LL, 1LL << 40));
  sub->add_option("--resume", o->resume, "continue the run a pretrain --save directory holds");
  sub->add_option("--optimizer", o->optimizer, "adamw | lamb")
      ->default_val("adamw")
      ->check(CLI::IsMember({"adamw", "lamb"}));
  sub->add_option("--log", o->log, "one JSON line per step (loss, lr, predicted positions, ms)");
  sub->add_option("--report", o->report, "summary JSON (losses, held-out MLM loss and masked-token accuracy)");
  sub->add_flag("--quiet", o->quiet, "no progress on stderr");
  a->executor.add(sub, *o,
                  "baseline (every layer on the device) | l2l (one layer at a time, the tied decoder streamed by "
                  "vocabulary chunks)",
                  "auto");  // no --shard-optimizer: refused for MLM for now (train/l2l.cpp)
  sub->callback([a, sub] {
    a->o.given = given_options(*sub);
    if (a->o.data.empty() && a->o.resume.empty()) bad_input("pretrain: --data is required (or --resume DIR)");
    a->executor.apply(a->o);
    if (a->o.executor == "baseline" && a->executor.micro_batch != "auto")
      bad_input("--micro-batch: the baseline executor runs the whole batch at once; micro-batches are l2l's");
    app::pretrain(a->o, progress_sink());
  });
}

}  // namespace strata::cli
