#!/usr/bin/python3
"""fastText supervised baseline and majority-class baseline on any .tsv text-classification file, on exactly the
train/test split strata takes of it (`strata train --data FILE.tsv`).

Rows and split reproduce strata's read_tsv and load_text (src/strata/data/text.cpp):
  * the file is split on '\\n' (a final newline adds no empty line) with a trailing '\\r' dropped per line; lines
    made only of spaces and tabs are skipped everywhere;
  * the first non-blank line is the header: tab-separated, the columns named 'text' and 'label' (names compared with
    spaces and tabs trimmed; the last column of that name wins), both required;
  * every later line must have as many tab-separated fields as the header; the label is trimmed of spaces and tabs
    (an empty label is an error), the text is taken as it is;
  * key = the 0-based data row (header and blank lines not counted); the row is in the test split iff
    splitmix64(state = key) % 10 == 0 (the same test as wordnet:lexname's, imported from fasttext_wordnet.py);
  * classes are counted over every row, before the split.
Texts get the same fastText preprocessing, training options and evaluation as fasttext_wordnet.py (imported from
it: lowercased, punctuation set apart, `fasttext supervised -epoch 25 -lr 0.5 -wordNgrams 2 -dim 100 -thread 2
-seed 0` by default; exact top-1 accuracy from `fasttext predict`; the majority class is the most frequent training
label, ties to the alphabetically first).

Run: /usr/bin/python3 bench/peers/fasttext_tsv.py FILE.tsv [--epoch 25] [--lr 0.5] [--word-ngrams 2] [--dim 100]
         [--threads 2] [--seed 0] [--fasttext /usr/bin/fasttext] [--keep DIR]
Human-readable lines go to stderr; stdout gets exactly one JSON line:
    {"train_rows", "test_rows", "classes", "majority_label", "majority_accuracy", "fasttext_accuracy",
     "fasttext_seconds", "fasttext_args"}
"""
import argparse
import os
import json
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fasttext_wordnet import (InputError, add_fasttext_options, check_fasttext_options,  # noqa: E402
                              in_test_split, log, run_evaluation)

BLANKS = b" \t"


def read_tsv(path):
    """[(text, label, key)] as strata's read_tsv gives them: key = 0-based data row."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()  # strata's line loop stops at the end of the bytes: no empty last line
    rows, header = [], None
    text_col = label_col = -1
    for ln, line in enumerate(lines, 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line.strip(BLANKS):
            continue
        fields = line.split(b"\t")
        if header is None:
            for i, name in enumerate(fields):
                if name.strip(BLANKS) == b"text":
                    text_col = i
                if name.strip(BLANKS) == b"label":
                    label_col = i
            if text_col < 0 or label_col < 0:
                raise InputError(f"{path}:{ln}: expected a header naming the columns 'text' and 'label'")
            header = fields
            continue
        if len(fields) != len(header):
            raise InputError(f"{path}:{ln}: expected {len(header)} tab-separated fields as in the header, "
                             f"found {len(fields)}")
        label = fields[label_col].strip(BLANKS)
        if not label:
            raise InputError(f"{path}:{ln}: empty label")
        rows.append((fields[text_col].decode("utf-8", errors="replace"), label.decode("utf-8", errors="replace"),
                     len(rows)))
    if header is None:
        raise InputError(f"{path}: empty file (expected a header 'text<TAB>label' and rows)")
    if not rows:
        raise InputError(f"{path}: no data rows after the header")
    return rows


def main():
    ap = argparse.ArgumentParser(description="fastText and majority-class baselines on strata's train/test split of "
                                             "a .tsv (text, label). One JSON line on stdout, details on stderr.")
    ap.add_argument("tsv", help="the .tsv file, with a header naming the columns 'text' and 'label'")
    add_fasttext_options(ap)
    a = ap.parse_args()
    check_fasttext_options(ap, a)
    try:
        rows = read_tsv(a.tsv)
        classes = len({label for _, label, _ in rows})
        train = [r for r in rows if not in_test_split(r[2])]
        test = [r for r in rows if in_test_split(r[2])]
        log(f"# {a.tsv}: {len(rows)} rows, {classes} classes; train {len(train)}, test {len(test)}")
        if not train or not test:
            raise InputError("the train or test split is empty")
        result = run_evaluation(a, train, test, classes, "fasttext_tsv_")
    except InputError as e:
        print(f"fasttext_tsv.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
