#!/usr/bin/python3
"""Writes a .tsv text-classification task (columns text, label) from WordNet's NOUN glosses, labelled by the
synset's hypernym ancestor at depth --depth (first '@'/'@i' pointer of each synset, the root 'entity' at depth 0, as
bench/regimes/wordnet_sets.py does; classes with at least --min-size synsets, all their synsets kept), laid out so
that strata's own .tsv split leaks nothing from a pre-training run on the wordnet:lexname TRAIN glosses.

Why the row order matters. strata splits wordnet:lexname by key = synset_offset * 4 + pos (noun: pos 0) and a .tsv
by key = the 0-based data row (header and blank lines not counted), both with the same test: in_test_split(key) =
splitmix64(state = key) % 10 == 0 (src/strata/data/text.cpp; reproduced in fasttext_wordnet.py). A pre-training run
on wordnet:lexname's train split has seen every gloss whose synset key is NOT in the test split. So this script
sorts the qualifying noun synsets into two pools by their WordNet key (test pool: in_test_split(offset * 4 + 0)),
shuffles each pool with --seed, and writes row r from the test pool when in_test_split(r), else from the train pool.
It stops at the first row whose pool is empty; the other pool's leftover is not written (637 train-split synsets
at depth 5 with WordNet 3.0: the train slots run ahead of the smaller test pool).
Every row strata puts in the .tsv's test split is then a gloss of a WordNet-test-split synset. Some WordNet glosses
are shared by several synsets ('one species', 'a family of Nematoda'), so a test-split synset can carry a text that
pre-training saw through a train-split synset of any part of speech; such synsets (about 70 at depth 5) are left out
of the test pool, so no test row's text occurs among the pre-training glosses at all. (Train rows are glosses
pre-training did see, unlabelled, as in wordnet:lexname itself.)

The gloss text is exactly strata's wordnet:lexname text for that synset (read with fasttext_wordnet.read_wordnet,
which reproduces strata's parser); tabs inside a gloss (none in WordNet 3.0) would become spaces. Labels are named
'<first word>.<offset>' of the ancestor synset, as in wordnet_sets.py.

Usage: wordnet_hypernym_tsv.py OUT.tsv [--depth 5] [--min-size 60] [--seed 0] [--wordnet-dir DIR]
Stdout: one JSON line {rows, classes, test_rows, train_rows, dropped_train_synsets, dropped_test_synsets,
test_synsets_with_seen_gloss}
(test_rows / train_rows: the rows strata will put in each split); details on stderr.
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fasttext_wordnet import InputError, in_test_split, log, read_wordnet  # noqa: E402

NOUN_POS = 0  # strata's pos number for data.noun: key = offset * 4 + 0


def read_noun_hypernyms(wn_dir):
    """{offset: (first word, hypernym offset or None)} from data.noun: the first '@' or '@i' noun pointer."""
    out = {}
    path = os.path.join(wn_dir, "data.noun")
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("  ") or not line.strip():
                continue
            t = line.partition(" | ")[0].split()
            off, n_words = int(t[0]), int(t[3], 16)
            i = 4 + 2 * n_words  # index of the pointer count
            hyper = None
            for k in range(int(t[i])):
                sym, target, pos = t[i + 1 + 4 * k], t[i + 2 + 4 * k], t[i + 3 + 4 * k]
                if sym in ("@", "@i") and pos == "n":
                    hyper = int(target)
                    break
            out[off] = (t[4], hyper)
    return out


def ancestor_labels(nouns, depth):
    """{offset: label} for every noun synset whose root-first hypernym path is longer than depth."""
    labels = {}
    for off in nouns:
        path, cur = [], off
        while cur is not None and cur in nouns and len(path) < 64:
            path.append(cur)
            cur = nouns[cur][1]
        path.reverse()  # root first
        if len(path) > depth:
            anc = path[depth]
            labels[off] = f"{nouns[anc][0]}.{anc:08d}"
    return labels


def main():
    ap = argparse.ArgumentParser(description="WordNet noun glosses labelled by their depth-D hypernym ancestor, as a "
                                             ".tsv whose strata test split holds only WordNet-test-split synsets.")
    ap.add_argument("out", help="the .tsv to write")
    ap.add_argument("--depth", type=int, default=5, help="ancestor depth of the label (root 'entity' = 0; default 5)")
    ap.add_argument("--min-size", type=int, default=60, help="keep classes with at least this many synsets (60)")
    ap.add_argument("--seed", type=int, default=0, help="shuffle seed of the two pools (default 0)")
    ap.add_argument("--wordnet-dir", default=os.environ.get("STRATA_WORDNET_DIR") or "/usr/share/wordnet")
    a = ap.parse_args()
    try:
        synsets = read_wordnet(a.wordnet_dir)  # [(gloss, lexname, key)] exactly as strata reads them
        gloss_of = {key // 4: gloss for gloss, _, key in synsets if key % 4 == NOUN_POS}
        pretrain_texts = {gloss for gloss, _, key in synsets if not in_test_split(key)}  # what pre-training sees
        labels = ancestor_labels(read_noun_hypernyms(a.wordnet_dir), a.depth)
    except (InputError, OSError, ValueError, IndexError) as e:
        print(f"wordnet_hypernym_tsv.py: error: {e}", file=sys.stderr)
        sys.exit(2)
    sizes = {}
    for lab in labels.values():
        sizes[lab] = sizes.get(lab, 0) + 1
    keep = sorted(off for off, lab in labels.items() if sizes[lab] >= a.min_size and off in gloss_of)

    # Two pools by WordNet's own split, each shuffled; then fill row r from the pool strata's row hash asks for.
    rng = random.Random(a.seed)
    test_synsets = [o for o in keep if in_test_split(o * 4 + NOUN_POS)]
    pools = {True: [o for o in test_synsets if gloss_of[o] not in pretrain_texts],
             False: [o for o in keep if not in_test_split(o * 4 + NOUN_POS)]}
    for p in pools.values():
        rng.shuffle(p)
    rows, used = [], {True: 0, False: 0}
    while True:
        is_test = in_test_split(len(rows))  # the key strata gives this row
        if used[is_test] == len(pools[is_test]):
            break
        off = pools[is_test][used[is_test]]
        used[is_test] += 1
        rows.append((gloss_of[off].replace("\t", " "), labels[off]))

    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("text\tlabel\n")
        for text, lab in rows:
            f.write(f"{text}\t{lab}\n")
    os.replace(tmp, a.out)
    summary = {"rows": len(rows), "classes": len({lab for _, lab in rows}), "test_rows": used[True],
               "train_rows": used[False], "dropped_train_synsets": len(pools[False]) - used[False],
               "dropped_test_synsets": len(pools[True]) - used[True],
               "test_synsets_with_seen_gloss": len(test_synsets) - len(pools[True])}
    log(f"# {a.out}: noun glosses by depth-{a.depth} hypernym ancestor (classes of >= {a.min_size} synsets): "
        f"{summary['rows']} rows ({summary['train_rows']} train, {summary['test_rows']} test, every test row a "
        f"WordNet-test-split synset), {summary['classes']} classes; not written: "
        f"{summary['dropped_train_synsets']} train-split and {summary['dropped_test_synsets']} test-split synsets, "
        f"and {summary['test_synsets_with_seen_gloss']} test-split synsets whose gloss pre-training sees elsewhere")
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
