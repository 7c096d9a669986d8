// strata embed: pooled [CLS] vectors of a trained text model, as the .npy + labels.txt pair `strata induce` reads.
#include <memory>

#include "cli/common.h"
#include "strata/app/trainer.h"
#include "strata/core/error.h"
#include "strata/data/dataset.h"

namespace strata::cli {

namespace {
struct EmbedArgs {
  std::string model, data, out, labels_out, split = "all";
  int seq_len = 0, threads = 0;
};
}  // namespace

void register_embed(CLI::App& app) {
  auto a = std::make_shared<EmbedArgs>();
  CLI::App* sub = app.add_subcommand("embed", "write a trained model's pooled [CLS] vectors for a data set");
  sub->add_option("--model", a->model, "checkpoint directory from strata train --save")->required();
  sub->add_option("--data", a->data, "data spec (as for train)")->required();
  sub->add_option("--out", a->out, "embeddings, a float32 .npy of (rows, hidden)")->required();
  sub->add_option("--labels-out", a->labels_out, "one label per row, for strata induce --labels")->required();
  sub->add_option("--split", a->split, "train | test | all")
      ->default_val("all")
      ->check(CLI::IsMember({"train", "test", "all"}));
  sub->add_option("--seq-len", a->seq_len, "tokens per row (0: the model's training --seq-len)")
      ->check(int_range(0, 1'000'000));
  sub->add_option("--threads", a->threads, "compute threads (0: all cores)")->check(thread_range())->default_val(0);
  sub->callback([a] {
    OutputSet outs;
    check_outputs(outs, {{"--out", a->out}, {"--labels-out", a->labels_out}});
    app::LoadedModel lm = app::load_model_dir(a->model, a->threads);
    const int T = a->seq_len > 0 ? a->seq_len : lm.seq_len;
    app::TokenData td = app::load_token_data(a->data, a->split, lm.tokenizer_path, T, lm.seed);
    if (td.tokens.n == 0) bad_input(a->data, ": the ", a->split, " split is empty");
    if (td.tokens.vocab > lm.config.vocab_size)
      bad_input(a->data, ": token ids up to ", td.tokens.vocab - 1, " but the model's vocabulary has ",
                lm.config.vocab_size);
    if (td.truncated > 0) progress(cat("truncated ", td.truncated, " texts to ", T, " tokens"));
    const std::size_t n = td.tokens.n, C = lm.config.hidden_size;
    const std::vector<float> pooled = app::pooled_vectors(*lm.executor, td.tokens);
    std::vector<std::string> names(n);
    for (std::size_t i = 0; i < n; ++i) names[i] = td.tokens.classes.at(td.tokens.y[i]);
    data::save_npy(outs.staged(a->out), pooled.data(), n, C);
    data::save_labels_txt(outs.staged(a->labels_out), names);
    outs.commit();
    progress(cat("wrote ", n, " x ", C, " embeddings to ", a->out, " and labels to ", a->labels_out));
  });
}

}  // namespace strata::cli
