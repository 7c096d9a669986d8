// strata pretrain: masked-language-model pre-training (see app/pretrainer.h).
#include <memory>

#include "cli/common.h"
#include "strata/app/pretrainer.h"
#include "strata/core/error.h"

namespace strata::cli {

void register_pretrain(CLI::App& app) {
  auto o = std::make_shared<app::PretrainOptions>();
  CLI::App* sub = app.add_subcommand("pretrain", "masked-language-model pre-training of a BERT encoder on text");
  sub->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--data", o->data,
                  "PATH.txt (one text a line) | PATH.tsv | PATH.jsonl (a text column) | wordnet:lexname")
      ->required();
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
  sub->add_option("--save", o->save, "write a BertForMaskedLM checkpoint directory at the end");
  sub->add_option("--report", o->report, "summary JSON (losses, held-out MLM loss and masked-token accuracy)");
  sub->add_flag("--quiet", o->quiet, "no progress on stderr");
  sub->callback([o] { app::pretrain(*o, progress_sink()); });
}

}  // namespace strata::cli
