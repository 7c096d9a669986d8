#!/usr/bin/env python3
"""Heatmaps and a plain summary of the regime study: heatmap.py regimes.csv OUT_DIR.
For every grid study in the CSV (bench/regimes/run.sh) writes OUT_DIR/regimes-<study>.svg: three panels (true,
induced, random tree against the resource-matched flat forest), each cell the learning efficiency (flat error /
hierarchical error, mean over seeds) ± its standard error, blue above 1, red below; a thick black frame where the
paired accuracy difference (hierarchical − flat, per seed) is more than two standard errors from 0.
Also OUT_DIR/regimes-summary.md: the cells where each tree wins or loses by more than two standard errors, and the
presets table. Standard library only."""
import csv, math, os, sys

TREES = [("true", "true tree"), ("induced", "induced tree"), ("random", "random tree")]


def num(v):
    try:
        return float(v)
    except ValueError:
        return float("nan")


def sort_key(v):
    x = num(v)
    return (0, x) if not math.isnan(x) else (1, v)


def colour(le):
    """Diverging on log2(LE), clipped at ±1 (halving or doubling the error)."""
    if math.isnan(le):
        return "#dddddd"
    t = max(-1.0, min(1.0, math.log2(max(le, 1e-9))))
    if t >= 0:
        r, g, b = 255 - int(190 * t), 255 - int(120 * t), 255
    else:
        r, g, b = 255, 255 - int(190 * -t), 255 - int(190 * -t)
    return f"#{r:02x}{g:02x}{b:02x}"


def label_of(v, name):
    if name == "depth" and v == "0":
        return "∞"
    return v


def significance(row, tree):
    d, se = num(row[f"diff_{tree}_mean"]), num(row[f"diff_{tree}_se"])
    if math.isnan(d) or math.isnan(se):
        return 0
    if d > 2 * se and d > 0:
        return 1
    if d < -2 * se and d < 0:
        return -1
    return 0


def svg_study(study, rows):
    xs = sorted({r["x"] for r in rows}, key=sort_key)
    ys = sorted({r["y"] for r in rows}, key=sort_key)
    xn, yn = rows[0]["x_name"], rows[0]["y_name"]
    cw, ch, left, top, gap = 74, 40, 90, 60, 40
    pw = left + cw * len(xs)
    width, height = 3 * pw + 2 * gap + 20, top + ch * len(ys) + 90
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
           f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
           f'<text x="10" y="18" font-size="14" font-weight="bold">{study}: learning efficiency vs flat '
           f'(flat error / hierarchical error), mean ± s.e. over seeds</text>']
    cells = {(r["x"], r["y"]): r for r in rows}
    for p, (tree, title) in enumerate(TREES):
        ox = 10 + p * (pw + gap)
        out.append(f'<text x="{ox + left}" y="{top - 22}" font-weight="bold">{title}</text>')
        for j, y in enumerate(ys):
            out.append(f'<text x="{ox + left - 6}" y="{top + j * ch + ch / 2 + 4}" text-anchor="end">'
                       f'{label_of(y, yn)}</text>')
        for i, x in enumerate(xs):
            out.append(f'<text x="{ox + left + i * cw + cw / 2}" y="{top + len(ys) * ch + 16}" '
                       f'text-anchor="middle">{label_of(x, xn)}</text>')
            for j, y in enumerate(ys):
                r = cells.get((x, y))
                cx, cy = ox + left + i * cw, top + j * ch
                if r is None:
                    out.append(f'<rect x="{cx}" y="{cy}" width="{cw}" height="{ch}" fill="#eeeeee" stroke="white"/>')
                    continue
                le, se = num(r[f"le_{tree}_mean"]), num(r[f"le_{tree}_se"])
                sig = significance(r, tree)
                out.append(f'<rect x="{cx}" y="{cy}" width="{cw}" height="{ch}" fill="{colour(le)}" '
                           f'stroke="{"black" if sig else "white"}" stroke-width="{3 if sig else 1}"/>')
                out.append(f'<text x="{cx + cw / 2}" y="{cy + 17}" text-anchor="middle">{le:.2f}</text>')
                out.append(f'<text x="{cx + cw / 2}" y="{cy + 32}" text-anchor="middle" font-size="10" '
                           f'fill="#444">± {se:.2f}</text>')
        out.append(f'<text x="{ox + left + len(xs) * cw / 2}" y="{top + len(ys) * ch + 34}" '
                   f'text-anchor="middle">{xn}</text>')
        out.append(f'<text x="{ox + 12}" y="{top + len(ys) * ch / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 {ox + 12} {top + len(ys) * ch / 2})">{yn}</text>')
    out.append(f'<text x="10" y="{height - 12}" font-size="11">blue: the hierarchy has less error than flat; '
               f'red: more. Thick frame: paired accuracy difference beyond 2 s.e. '
               f'{rows[0]["reps"]} seeds per cell.</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_atomic(path, text):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def summary(studies):
    md = ["# Regime study: where each tree beats or loses to the flat forest by more than 2 s.e.", "",
          "Paired accuracy difference (hierarchical − flat) per seed, mean ± s.e.; learning efficiency in brackets.",
          ""]
    for study, rows in studies.items():
        if study == "presets":
            continue
        md.append(f"## {study}")
        for tree, _ in TREES:
            for want, word in ((1, "wins"), (-1, "loses")):
                hits = [r for r in rows if significance(r, tree) == want]
                cells = ", ".join(f'{r["x_name"]}={r["x"]} {r["y_name"]}={r["y"]} '
                                  f'({num(r[f"diff_{tree}_mean"]):+.3f} ± {num(r[f"diff_{tree}_se"]):.3f}; '
                                  f'LE {num(r[f"le_{tree}_mean"]):.2f})' for r in hits)
                md.append(f"- {tree} {word} in {len(hits)}/{len(rows)} cells" + (f": {cells}" if cells else ""))
        md.append("")
    if "presets" in studies:
        md += ["## presets (same data per shape)", "",
               "| shape | setup | flat | true | induced | random | LE true / induced / random | "
               "coarse acc. true / induced | fine acc. given group true / induced | ARI |",
               "|---|---|---|---|---|---|---|---|---|---|"]
        for r in studies["presets"]:
            f = lambda k: f'{num(r[k + "_mean"]):.3f} ± {num(r[k + "_se"]):.3f}'
            md.append(f'| {r["x"]} | {r["setup"]} | {f("acc_flat")} | {f("acc_true")} | {f("acc_induced")} | '
                      f'{f("acc_random")} | {num(r["le_true_mean"]):.2f} / {num(r["le_induced_mean"]):.2f} / '
                      f'{num(r["le_random_mean"]):.2f} | {num(r["coarse_true_mean"]):.3f} / '
                      f'{num(r["coarse_induced_mean"]):.3f} | {num(r["fine_true_mean"]):.3f} / '
                      f'{num(r["fine_induced_mean"]):.3f} | {num(r["ari_mean"]):.2f} |')
    return "\n".join(md) + "\n"


def main():
    rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
    out = sys.argv[2]
    studies = {}
    for r in rows:
        studies.setdefault(r["study"], []).append(r)
    for study, rs in studies.items():
        if study != "presets":
            write_atomic(os.path.join(out, f"regimes-{study}.svg"), svg_study(study, rs))
    text = summary(studies)
    write_atomic(os.path.join(out, "regimes-summary.md"), text)
    print(text)


if __name__ == "__main__":
    main()
