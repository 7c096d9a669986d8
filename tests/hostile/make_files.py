"""Hostile files for tests/hostile/files_test.sh: each built to crash, hang or exhaust a reader of strata.
Usage: make_files.py OUT_DIR CHECKPOINT_DIR   (CHECKPOINT_DIR: a small text checkpoint from strata train --save;
each hostile checkpoint is a copy of it with one file replaced). Standard library only."""
import json, os, shutil, struct, sys, zlib

out, ck = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)


def write(name, data):
    path = os.path.join(out, name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


def nest(depth, inner="0"):
    return "[" * depth + inner + "]" * depth


def checkpoint(name, **replace):
    """A copy of the good checkpoint with files replaced: replace={"config.json": text or bytes, ...}."""
    d = os.path.join(out, name)
    shutil.copytree(ck, d)
    for fname, data in replace.items():
        fname = fname.replace("__", ".")
        with open(os.path.join(d, fname), "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)


def safetensors(header_text, data=b""):
    h = header_text.encode()
    return struct.pack("<Q", len(h)) + h + data


cfg = json.load(open(os.path.join(ck, "config.json")))
state = json.load(open(os.path.join(ck, "trainer_state.json")))


def cfg_with(**kv):  # None drops the field
    c = dict(cfg)
    c.update(kv)
    return json.dumps({k: v for k, v in c.items() if v is not None})


def state_with(options=None, **kv):
    s = json.loads(json.dumps(state))
    if options is not None:
        s["options"] = options
    s.update(kv)
    return json.dumps(s)


def raw_cfg_with(field, raw):  # a field's value as raw JSON text (deep nesting that json.dumps would refuse)
    c = dict(cfg)
    c[field] = "@@"
    return json.dumps(c).replace('"@@"', raw)


# ---- class 1: deep nesting -------------------------------------------------------------------------------------
D = 100000
write("deep-tree.json", '{"classes": ["a", "b"], "tree": ' + '{"children": [' * (D // 2) + '{"class": "a"}' + "]}" * (D // 2) + "}")
# 10^4 levels, valid JSON within the tree limit, but its innermost leaf names a class that is not listed
d = 9000
write("deep-tree-badleaf.json",
      '{"classes": ["a", "b"], "tree": ' + '{"children": [{"class": "a"}, ' * d + '{"class": "zz"}' + "]}" * d + "}")
write("deep-label.jsonl", '{"text": "a b c", "label": ' + nest(D) + "}\n")
write("deep-text.jsonl", '{"text": "a b", "label": "x"}\n' * 3 + '{"text": ' + nest(D, '"t"') + ', "label": "y"}\n')
write("flat-huge-label.jsonl", '{"text": "a b c", "label": [' + ",".join(["123456789"] * 100000) + "]}\n")
checkpoint("ck-deep-shape", model__safetensors=safetensors('{"w": {"dtype": "F32", "shape": ' + nest(D) +
                                                            ', "data_offsets": [0, 4]}}', b"\0" * 4))
checkpoint("ck-deep-config", config__json=raw_cfg_with("hidden_size", nest(D, "128")))
checkpoint("ck-deep-state", trainer_state__json='{"step": 1, "options": ' + nest(D) + "}")
checkpoint("ck-deep-metadata", model__safetensors=safetensors('{"__metadata__": {"format": ' + nest(D, '"pt"') +
                                                               "}}"))

# ---- class 3: wrong types, ranges and inconsistencies in checkpoint files ------------------------------------
checkpoint("ck-options-string", trainer_state__json=state_with(options="seq-len=64"))
opts = dict(state["options"])
checkpoint("ck-seqlen-text", trainer_state__json=state_with(options=dict(opts, **{"seq-len": "64"})))
checkpoint("ck-seqlen-huge", trainer_state__json=state_with(options=dict(opts, **{"seq-len": 1 << 20})))
checkpoint("ck-seed-float", trainer_state__json=state_with(options=dict(opts, seed=0.5)))
checkpoint("ck-step-string", trainer_state__json=state_with(step="12"))
checkpoint("ck-updates-ahead", trainer_state__json=state_with(step=2, updates=99))
checkpoint("ck-state-array", trainer_state__json="[1, 2, 3]")
checkpoint("ck-hidden-string", config__json=cfg_with(hidden_size="128"))
checkpoint("ck-act-number", config__json=cfg_with(hidden_act=5))
checkpoint("ck-eps-huge", config__json=cfg_with(layer_norm_eps=1e300))
checkpoint("ck-shape-string", model__safetensors=safetensors('{"w": {"dtype": "F32", "shape": ["4"], '
                                                              '"data_offsets": [0, 16]}}', b"\0" * 16))
checkpoint("ck-tokenizer-garbage", tokenizer__model=b"\x08\x96\x01garbage" * 100)

# ---- class 4: sizes that claim more memory than the file could hold ----------------------------------------------
checkpoint("ck-layers-1e6", config__json=cfg_with(num_hidden_layers=10 ** 6))
checkpoint("ck-vocab-2g", config__json=cfg_with(vocab_size=2 ** 31 - 1))
checkpoint("ck-hidden-2p30", config__json=cfg_with(hidden_size=2 ** 30, num_attention_heads=1))
checkpoint("ck-layers-500", config__json=cfg_with(num_hidden_layers=500))  # within limits, but not in the weights
checkpoint("ck-vocab-16m", config__json=cfg_with(vocab_size=1 << 24))
checkpoint("ck-labels-huge", config__json=cfg_with(num_labels=1 << 24, id2label=None, label2id=None))


# 200 MB of newlines after a header: ~200 KB compressed
with open(os.path.join(out, "bomb.csv.gz"), "wb") as f:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    f.write(c.compress(b"a,label\n"))
    nl = b"\n" * (1 << 20)
    for _ in range(200):
        f.write(c.compress(nl))
    f.write(c.flush())
with open(os.path.join(out, "bomb.jsonl.gz"), "wb") as f:
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    nl = b" " * (1 << 20)
    f.write(c.compress(b'{"text": "a b", "label": "x"}\n{"text": "'))
    for _ in range(200):
        f.write(c.compress(nl))
    f.write(c.compress(b'", "label": "y"}\n'))
    f.write(c.flush())
# a 10 MB single text line (among ordinary rows): must embed within the time and memory bounds
words = ("alpha beta gamma delta epsilon zeta eta theta iota kappa " * 200000)[: 10 << 20]
rows = ['{"text": "w%d v%d u%d", "label": "%s"}\n' % (i, i % 3, i % 5, "xy"[i % 2]) for i in range(20)]
write("long-line.jsonl", "".join(rows[:10]) + '{"text": "' + words + '", "label": "y"}\n' + "".join(rows[10:]))
