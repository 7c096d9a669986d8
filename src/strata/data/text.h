// Text classification data sets (WordNet lexicographer files, TSV, JSONL) and token-id data sets (tokenized text,
// or synthetic sequences for engine benchmarks). Text data has its own entry point, load_text; data::load stays for
// dense features.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace strata::data {

struct TextDataset {
  std::vector<std::string> texts;    // (n)
  std::vector<std::int32_t> y;       // (n) class ids into classes
  std::vector<std::string> classes;  // id -> name, in the house order (see labels.h), over ALL splits
  std::vector<std::uint64_t> keys;   // (n) each row's split key (WordNet: offset * 4 + pos; files: data row index)
  std::string source;                // what was loaded, for reports
};

struct TokenDataset {
  std::vector<std::int32_t> ids;   // (n, T) row-major token ids
  std::vector<std::uint8_t> mask;  // (n, T) 1 for a real token, 0 for padding
  std::vector<std::int32_t> y;     // (n)
  int n = 0, T = 0;
  int num_classes = 0;
  std::vector<std::string> classes;  // id -> name (may be empty for synthetic data)
  int vocab = 0;                     // ids are < vocab (synthetic: the spec's vocab; tokenized: the tokenizer's)
};

// Loads a text data set. spec:
//   wordnet:lexname  every WordNet 3.0 synset (data.{noun,verb,adj,adv} in /usr/share/wordnet, or the directory in
//                    $STRATA_WORDNET_DIR); text = the gloss (everything after " | "), label = the synset's
//                    lexicographer file name (noun.animal, verb.motion, ...: 45 classes). The synset's words are
//                    deliberately not part of the text: the task is to predict the lexicographer file from the
//                    definition alone.
//   PATH.tsv[.gz]    a header line naming the columns "text" and "label" (tab-separated, other columns ignored)
//   PATH.jsonl[.gz]  one object per line: {"text": string, "label": string or integer}
//   PATH.txt[.gz]    one text per line, blank lines skipped, no labels (one class "text"): pre-training corpora
// split: "all", or "train"/"test" — a fixed 90/10 split by a hash of the row's key (WordNet: the synset's part of
// speech and offset; files: the 0-based data row): a row is in test iff splitmix64(key) % 10 == 0 (see
// text_split_key). Classes are computed over all rows, so train and test share one class numbering.
// Throws bad_input naming file:line for malformed rows, missing fields, an empty data set or an unknown spec.
TextDataset load_text(const std::string& spec, const std::string& split);

// The 45 WordNet lexicographer file names, indexed by lex_filenum (00 adj.all ... 44 adj.ppl).
const std::vector<std::string>& wordnet_lexnames();

// True iff a row with this key falls in the test split: one splitmix64 step from state = key, result % 10 == 0.
// WordNet keys are offset * 4 + pos with pos n=0, v=1, a/s=2, r=3 (the data file the synset lives in).
bool in_test_split(std::uint64_t key);

// Synthetic token sequences for engine benchmarks; reproducible token for token by bench/peers/torch_bert.py.
// Generator (all arithmetic mod 2^64): state = seed; for each row i in [0, n), for each position t in [0, seq_len):
//   state += 0x9E3779B97F4A7C15; z = state; z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
//   z = (z ^ (z >> 27)) * 0x94D049BB133111EB; z ^= z >> 31; ids[i][t] = z % vocab.
// (i.e. core/rng.h splitmix64 drawn row-major). Label y[i] = ids[i][0] % classes — learnable (a function of the
// first token), so a training loss must fall. Every row fills seq_len exactly: mask is all ones, no padding.
// Requires vocab >= 1, 1 <= classes <= vocab, n >= 1, seq_len >= 1 (bad_input otherwise).
TokenDataset make_synthetic(int vocab, int classes, int n, int seq_len, std::uint64_t seed);

// "synthetic:vocab=8192,classes=45,n=4096[,seq=128][,seed=7]": keys override seq_len / seed. Unknown or malformed
// keys are bad_input.
bool is_synthetic_spec(const std::string& spec);
TokenDataset load_synthetic(const std::string& spec, int seq_len, std::uint64_t seed);

}  // namespace strata::data
