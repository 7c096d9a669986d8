#!/usr/bin/env python3
"""Writes the regime study's WordNet text sets as TSV (text, label) from /usr/share/wordnet, offline:
  lexname   glosses of every synset labelled by lexicographer file (45 classes), at most --per-class each;
  hypernym  noun glosses labelled by their ancestor at depth --depth of the hypernym tree (first '@'/'@i' pointer
            of each synset, the root 'entity' at depth 0), classes with at least --min-size synsets, at most
            --per-class each; and the true label tree grouping each class under its ancestor at --group-depth.
Usage: wordnet_sets.py OUT_DIR [--depth 5] [--group-depth 3] [--min-size 60] [--per-class 60]"""
import argparse, json, os, random, sys

WN = os.environ.get("STRATA_WORDNET_DIR", "/usr/share/wordnet")
LEX = ["adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
       "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
       "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
       "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
       "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
       "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
       "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather", "adj.ppl"]


def read(pos):
    """offset -> (lexfile number, first word, hypernym offset or None, gloss)"""
    out = {}
    with open(os.path.join(WN, "data." + pos), encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            head, _, gloss = line.partition(" | ")
            t = head.split()
            off, lex, nw = t[0], int(t[1]), int(t[3], 16)
            word = t[4]
            i = 4 + 2 * nw
            npt = int(t[i])
            hyper = None
            for k in range(npt):
                sym, target, p = t[i + 1 + 4 * k], t[i + 2 + 4 * k], t[i + 3 + 4 * k]
                if sym in ("@", "@i") and p == "n" and hyper is None:
                    hyper = target
            out[off] = (lex, word, hyper, gloss.strip().replace("\t", " "))
    return out


def clean(text):
    return " ".join(text.split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--group-depth", type=int, default=3)
    ap.add_argument("--min-size", type=int, default=60)
    ap.add_argument("--per-class", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    # lexname: every part of speech
    by_lex = {}
    for pos in ("noun", "verb", "adj", "adv"):
        for lex, _, _, gloss in read(pos).values():
            by_lex.setdefault(LEX[lex] if lex < len(LEX) else str(lex), []).append(clean(gloss))
    write(os.path.join(a.out, "lexname.tsv"), by_lex, a.per_class, rng)
    # hypernym: nouns by ancestor at a depth
    nouns = read("noun")
    def path(off):
        p = []
        while off is not None and off in nouns and len(p) < 64:
            p.append(off)
            off = nouns[off][2]
        return p[::-1]  # root first
    by_cls, group_of = {}, {}
    for off, (_, _, _, gloss) in nouns.items():
        p = path(off)
        if len(p) <= a.depth:
            continue
        cls = p[a.depth]
        by_cls.setdefault(cls, []).append(clean(gloss))
        group_of[cls] = p[a.group_depth]
    keep = {c: v for c, v in by_cls.items() if len(v) >= a.min_size}
    name = lambda off: f"{nouns[off][1]}.{off}"
    named = {name(c): v for c, v in keep.items()}
    write(os.path.join(a.out, "hypernym.tsv"), named, a.per_class, rng)
    groups = {}
    for c in sorted(keep, key=name):
        groups.setdefault(name(group_of[c]), []).append(name(c))
    tree = {"classes": sorted(named),
            "tree": {"name": "root", "children": [{"name": g, "children": [{"class": c} for c in cs]}
                                                  for g, cs in sorted(groups.items())]}}
    with open(os.path.join(a.out, "hypernym-tree.json"), "w") as f:
        json.dump(tree, f, indent=1)
    print(f"lexname: {len(by_lex)} classes; hypernym (depth {a.depth}, >= {a.min_size} synsets): {len(keep)} classes "
          f"in {len(groups)} groups at depth {a.group_depth}", file=sys.stderr)


def write(path, by_label, per_class, rng):
    with open(path + ".tmp", "w") as f:
        f.write("text\tlabel\n")
        for label in sorted(by_label):
            texts = by_label[label][:]
            rng.shuffle(texts)
            for t in texts[:per_class]:
                f.write(f"{t}\t{label}\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
