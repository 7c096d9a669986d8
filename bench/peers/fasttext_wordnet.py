#!/usr/bin/python3
"""fastText supervised baseline and majority-class baseline on strata's wordnet:lexname task: classify a WordNet
synset's gloss into its lexicographer file (45 classes: adj.all, noun.animal, verb.motion, ...).

Rows and split are those of strata's load_text("wordnet:lexname", ...) (src/strata/data/text.cpp), reproduced here:
  * files data.noun, data.verb, data.adj, data.adv (pos 0, 1, 2, 3) in that order, from $STRATA_WORDNET_DIR or
    /usr/share/wordnet (or --wordnet-dir); lines split on '\\n' with a trailing '\\r' dropped; empty lines and lines
    starting with two spaces (the licence header) skipped;
  * a line is 'synset_offset lex_filenum ss_type ... | gloss': the label is wordnet_lexnames()[lex_filenum] (two
    digits, 00-44), the gloss is the text after the first " | " with spaces and tabs trimmed at both ends;
  * key = synset_offset * 4 + pos; the row is in the test split iff splitmix64(state = key) % 10 == 0 (one step:
    state += 0x9E3779B97F4A7C15, then the usual mix), else in train. strata's figures: 106087 train, 11572 test,
    45 classes (counted over all rows).

For fastText the gloss gets fastText's usual preprocessing (strata itself keeps the raw gloss and tokenises it with
SentencePiece): lowercased, every character that is neither a letter, digit, '_' nor whitespace set apart by spaces
(so punctuation, quotes, brackets, hyphens and apostrophes become tokens of their own), whitespace runs collapsed.
Training rows are written in an order shuffled with --seed (fastText reads its file in order while its learning rate
decays to zero: the unshuffled file, grouped by part of speech, ended on adverbs and scored 0.06-0.49 depending on
epochs and threads). Training: `fasttext supervised -input train.txt -output model -epoch 25 -lr 0.5 -wordNgrams 2 -dim 100 -thread 2
-seed 0` (softmax loss, other options fastText's defaults). With more than one thread fastText's Hogwild updates are
not bit-reproducible, so the accuracy can move in the third decimal between runs; use --threads 1 for a repeatable
figure. Accuracy is exact top-1 accuracy computed here from `fasttext predict` output on the test glosses (the
`fasttext test` P@1 is logged on stderr as a cross-check). The majority baseline predicts the most frequent training
label for every test row.

Run (apt's fasttext binary; no Python packages needed):
    /usr/bin/python3 bench/peers/fasttext_wordnet.py [--epoch 25] [--lr 0.5] [--word-ngrams 2] [--dim 100]
        [--threads 2] [--seed 0] [--wordnet-dir /usr/share/wordnet] [--fasttext /usr/bin/fasttext] [--keep DIR]
Human-readable lines go to stderr; stdout gets exactly one JSON line:
    {"train_rows", "test_rows", "classes", "majority_label", "majority_accuracy", "fasttext_accuracy",
     "fasttext_seconds", "fasttext_args"}
fasttext_seconds is the wall time of `fasttext supervised` (loading the data and training).
"""
import argparse
import collections
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

# strata's wordnet_lexnames(), indexed by lex_filenum.
LEXNAMES = [
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant", "noun.possession",
    "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition", "verb.consumption",
    "verb.contact", "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession",
    "verb.social", "verb.stative", "verb.weather", "adj.ppl"]
POS_FILES = [("data.noun", 0), ("data.verb", 1), ("data.adj", 2), ("data.adv", 3)]
U64 = (1 << 64) - 1


class InputError(Exception):
    pass


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def splitmix64_once(state):
    z = (state + 0x9E3779B97F4A7C15) & U64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & U64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & U64
    return z ^ (z >> 31)


def in_test_split(key):
    return splitmix64_once(key) % 10 == 0


def read_wordnet(wn_dir):
    """[(gloss, label, key)] in strata's order, with strata's parsing and checks."""
    rows = []
    for fname, pos in POS_FILES:
        path = os.path.join(wn_dir, fname)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise InputError(f"{path}: cannot read ({e.strerror})") from None
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()  # strata's line loop stops at the end of the bytes: no empty last line
        for ln, line in enumerate(lines, 1):
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line or line.startswith(b"  "):
                continue
            where = f"{path}:{ln}"
            parts = line.split(b" ", 2)
            if len(parts) < 3:
                raise InputError(f"{where}: expected 'synset_offset lex_filenum ss_type ...'")
            off, lex = parts[0], parts[1]
            if not off or len(off) > 10 or not off.isdigit():
                raise InputError(f"{where}: expected a decimal synset offset, found {off!r}")
            if len(lex) != 2 or not lex.isdigit():
                raise InputError(f"{where}: expected a two-digit lexicographer file number, found {lex!r}")
            lex_num = int(lex)
            if lex_num >= len(LEXNAMES):
                raise InputError(f"{where}: lexicographer file number {lex_num} is beyond the {len(LEXNAMES)} known")
            bar = line.find(b" | ")
            if bar < 0:
                raise InputError(f"{where}: no gloss (expected ' | ' before the definition)")
            gloss = line[bar + 3:].strip(b" \t")
            if not gloss:
                raise InputError(f"{where}: empty gloss after ' | '")
            rows.append((gloss.decode("utf-8", errors="replace"), LEXNAMES[lex_num], int(off) * 4 + pos))
    if not rows:
        raise InputError(f"{wn_dir}: no synsets found in data.{{noun,verb,adj,adv}}")
    return rows


_PUNCT = re.compile(r"([^\w\s])")
_SPACE = re.compile(r"\s+")


def fasttext_text(gloss):
    return _SPACE.sub(" ", _PUNCT.sub(r" \1 ", gloss.lower())).strip()


def run(cmd, what):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    except FileNotFoundError:
        raise InputError(f"{what}: '{cmd[0]}' not found (install the 'fasttext' apt package or pass --fasttext)")
    except subprocess.CalledProcessError as e:
        tail = (e.stderr or e.stdout or "").strip().splitlines()[-5:]
        raise InputError(f"{what} failed with exit status {e.returncode}: {' | '.join(tail)}") from None


def add_fasttext_options(ap):
    """The fastText and I/O options, shared with fasttext_tsv.py (same defaults, so the two peers train alike)."""
    ap.add_argument("--epoch", type=int, default=25, help="fastText -epoch (default 25)")
    ap.add_argument("--lr", type=float, default=0.5, help="fastText -lr (default 0.5)")
    ap.add_argument("--word-ngrams", type=int, default=2, help="fastText -wordNgrams (default 2)")
    ap.add_argument("--dim", type=int, default=100, help="fastText -dim (default 100)")
    ap.add_argument("--threads", type=int, default=2, help="fastText -thread (default 2; 1 is reproducible)")
    ap.add_argument("--seed", type=int, default=0, help="fastText -seed (default 0)")
    ap.add_argument("--fasttext", default=shutil.which("fasttext") or "/usr/bin/fasttext",
                    help="fastText binary (default: fasttext on PATH, else /usr/bin/fasttext)")
    ap.add_argument("--keep", metavar="DIR", help="write train.txt, test.txt, the model and predictions here and keep "
                                                  "them (default: a temporary directory, removed afterwards)")


def check_fasttext_options(ap, a):
    for name in ("epoch", "word_ngrams", "dim", "threads"):
        if getattr(a, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1, got {getattr(a, name)}")
    if not a.lr > 0:
        ap.error(f"--lr must be positive, got {a.lr}")


def parse_args():
    ap = argparse.ArgumentParser(
        description="fastText and majority-class baselines on strata's wordnet:lexname train/test split. "
                    "One JSON line on stdout, details on stderr.")
    add_fasttext_options(ap)
    ap.add_argument("--wordnet-dir", default=os.environ.get("STRATA_WORDNET_DIR") or "/usr/share/wordnet",
                    help="WordNet dict directory (default $STRATA_WORDNET_DIR or /usr/share/wordnet)")
    a = ap.parse_args()
    check_fasttext_options(ap, a)
    return a


def run_evaluation(a, train, test, classes, prefix):
    """evaluate() in a.keep, or in a temporary directory removed afterwards."""
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        return evaluate(a, a.keep, train, test, classes)
    with tempfile.TemporaryDirectory(prefix=prefix) as work:
        return evaluate(a, work, train, test, classes)


def evaluate(a, work, train, test, classes):
    train_txt, test_txt, test_plain = (os.path.join(work, n) for n in ("train.txt", "test.txt", "test_text.txt"))
    # fastText reads its input in file order and decays the learning rate linearly to zero: rows grouped by class
    # (WordNet's files are noun, verb, adj, adv) would leave the model fitted to the last classes it saw. Shuffled
    # with the seed, as fastText's users are told to do.
    order = list(range(len(train)))
    random.Random(a.seed).shuffle(order)
    with open(train_txt, "w", encoding="utf-8") as f:
        for i in order:
            gloss, label, _ = train[i]
            f.write(f"__label__{label} {fasttext_text(gloss)}\n")
    with open(test_txt, "w", encoding="utf-8") as f, open(test_plain, "w", encoding="utf-8") as g:
        for gloss, label, _ in test:
            text = fasttext_text(gloss)
            f.write(f"__label__{label} {text}\n")
            g.write(text + "\n")

    counts = collections.Counter(label for _, label, _ in train)
    majority_label = max(sorted(counts), key=lambda k: counts[k])  # ties: the alphabetically first
    majority_acc = sum(label == majority_label for _, label, _ in test) / len(test)
    log(f"# majority baseline: '{majority_label}' ({counts[majority_label]} of {len(train)} training rows), "
        f"test accuracy {majority_acc:.4f}")

    model = os.path.join(work, "model")
    ft_args = ["-epoch", str(a.epoch), "-lr", str(a.lr), "-wordNgrams", str(a.word_ngrams), "-dim", str(a.dim),
               "-thread", str(a.threads), "-seed", str(a.seed)]
    args_str = " ".join(ft_args)
    log(f"# fasttext supervised {args_str} ...")
    t0 = time.perf_counter()
    r = run([a.fasttext, "supervised", "-input", train_txt, "-output", model, "-verbose", "2"] + ft_args,
            "fasttext supervised")
    ft_seconds = time.perf_counter() - t0
    summary = [s.strip() for s in re.split(r"[\r\n]+", r.stderr + r.stdout) if s.strip()]
    for s in [s for s in summary if s.startswith("Number of")] + summary[-1:]:
        log(f"#   {s}")
    log(f"# trained in {ft_seconds:.1f} s")

    r = run([a.fasttext, "predict", model + ".bin", test_plain], "fasttext predict")
    preds = r.stdout.splitlines()
    if len(preds) != len(test):
        raise InputError(f"fasttext predict returned {len(preds)} lines for {len(test)} test rows")
    correct = sum(p.strip() == f"__label__{label}" for p, (_, label, _) in zip(preds, test))
    ft_acc = correct / len(test)
    log(f"# fastText top-1 test accuracy {ft_acc:.4f} ({correct} of {len(test)})")
    r = run([a.fasttext, "test", model + ".bin", test_txt], "fasttext test")
    log("# fasttext test (cross-check): " + " ".join(r.stdout.split()))

    return {"train_rows": len(train), "test_rows": len(test), "classes": classes, "majority_label": majority_label,
            "majority_accuracy": round(majority_acc, 6), "fasttext_accuracy": round(ft_acc, 6),
            "fasttext_seconds": round(ft_seconds, 3), "fasttext_args": args_str}


def main():
    a = parse_args()
    try:
        rows = read_wordnet(a.wordnet_dir)
        classes = len({label for _, label, _ in rows})
        train = [r for r in rows if not in_test_split(r[2])]
        test = [r for r in rows if in_test_split(r[2])]
        log(f"# wordnet:lexname from {a.wordnet_dir}: {len(rows)} glosses, {classes} classes; "
            f"train {len(train)}, test {len(test)} (strata: 106087 / 11572, 45 classes)")
        if not train or not test:
            raise InputError("the train or test split is empty")
        result = run_evaluation(a, train, test, classes, "fasttext_wordnet_")
    except InputError as e:
        print(f"fasttext_wordnet.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
