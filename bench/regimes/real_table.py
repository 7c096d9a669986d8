#!/usr/bin/env python3
"""The real-data half of the regime study as a markdown table: real_table.py OUT_DIR (reads the
regimes-real-<set>-<preset>.json files that bench/regimes/run.sh wrote with `strata compare --json`)."""
import glob, json, os, re, sys

out = sys.argv[1]
rows = []
for path in sorted(glob.glob(os.path.join(out, "regimes-real-*-*.json"))):
    m = re.match(r"regimes-real-(.+)-(strata|authors)\.json$", os.path.basename(path))
    if not m:
        continue
    j = json.load(open(path))
    rows.append((m.group(1), m.group(2), j))
print("| data set | preset | flat | induced | random | true | learning eff. induced / random / true | "
      "coarse acc. induced / true | fine acc. given group induced / true | groups | ARI |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
f = lambda r: f'{r["accuracy"]:.4f} ± {r["se"]:.4f}' if r else "-"
g = lambda r, k: (f"{r[k]:.3f}" if isinstance(r.get(k), (int, float)) else str(r.get(k, "-"))) if r else "-"
for name, preset, j in rows:
    fl, ind, rnd, tru = j["flat"], j["induced"], j["random"], j.get("true")
    print(f"| {name} | {preset} | {f(fl)} | {f(ind)} | {f(rnd)} | {f(tru)} | {g(ind, 'learning_efficiency')} / "
          f"{g(rnd, 'learning_efficiency')} / {g(tru, 'learning_efficiency')} | {g(ind, 'coarse_accuracy')} / "
          f"{g(tru, 'coarse_accuracy')} | {g(ind, 'fine_given_group')} / {g(tru, 'fine_given_group')} | "
          f"{g(ind, 'groups')} | {g(ind, 'ari')} |")
