#!/usr/bin/python3
"""Regenerates the seed corpora in fuzz/corpus/<target>/: small valid files, written here or by a built strata
(train, fit, induce on tiny data), and slightly broken variants of them. Usage: fuzz/make_corpus.py BUILD/strata"""
import gzip, json, os, shutil, struct, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
STRATA = os.path.abspath(sys.argv[1])


def put(target, name, data):
    os.makedirs(os.path.join(CORPUS, target), exist_ok=True)
    with open(os.path.join(CORPUS, target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def broken(target, name, data):
    """The valid seed plus three damaged copies: truncated, one byte flipped, and doubled."""
    data = data if isinstance(data, bytes) else data.encode()
    put(target, name, data)
    put(target, name + ".trunc", data[: max(1, len(data) * 2 // 3)])
    mid = len(data) // 2
    put(target, name + ".flip", data[:mid] + bytes([data[mid] ^ 0x5A]) + data[mid + 1:])
    put(target, name + ".twice", data + data)


def npy(descr, shape, payload, version=1):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % s for s in shape) if len(shape) == 1 else ", ".join(map(str, shape)))
    pre = 10 if version == 1 else 12
    pad = (64 - (pre + len(header) + 1) % 64) % 64
    header = header + " " * pad + "\n"
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header.encode() + payload


def safetensors(tensors, meta=None):
    head, data = {}, b""
    for name, dtype, shape, raw in tensors:
        head[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if meta:
        head["__metadata__"] = meta
    h = json.dumps(head).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def varint(b, i):
    v, shift = 0, 0
    while True:
        v |= (b[i] & 0x7F) << shift
        shift += 7
        i += 1
        if b[i - 1] < 0x80:
            return v, i


def enc_varint(v):
    out = b""
    while True:
        out += bytes([(v & 0x7F) | (0x80 if v > 0x7F else 0)])
        v >>= 7
        if not v:
            return out


def fields(b):
    i = 0
    while i < len(b):
        key, i = varint(b, i)
        start = i
        if key & 7 == 0:
            _, i = varint(b, i)
        elif key & 7 == 2:
            n, i = varint(b, i)
            start, i = i, i + n
        elif key & 7 == 1:
            i += 8
        elif key & 7 == 5:
            i += 4
        yield key, start, i


def strip_charsmap(model):
    """A SentencePiece ModelProto without normalizer_spec.precompiled_charsmap (230 KB of NFKC tables): a seed the
    fuzzer can mutate quickly. The model then normalizes nothing, which the loader accepts."""
    out = b""
    for key, s, e in fields(model):
        if key == (3 << 3 | 2):  # normalizer_spec
            inner = b"".join(enc_varint(k) + (enc_varint(e2 - s2) if k & 7 == 2 else b"") + model[s + s2:s + e2]
                             for k, s2, e2 in fields(model[s:e]) if k != (2 << 3 | 2))
            out += enc_varint(key) + enc_varint(len(inner)) + inner
        else:
            kb = enc_varint(key)
            out += kb + (enc_varint(e - s) if key & 7 == 2 else b"") + model[s:e]
    return out


def idx_images(n, rows, cols):
    return struct.pack(">I", 0x803) + struct.pack(">III", n, rows, cols) + bytes((i * 37) % 256 for i in range(n * rows * cols))


def idx_labels(n):
    return struct.pack(">I", 0x801) + struct.pack(">I", n) + bytes(i % 3 for i in range(n))


csv = "a,b,c,label\n1,2,3,x\n4,5,6,y\n7,8,9,x\n0.5,-1e3,2,z\n"
broken("csv", "small.csv", csv)
put("csv", "quoted.csv", 'f1,f2,"the label"\n1,2,"a,b"\n3,4,"c ""d"""\n5,6,"a,b"\n')
put("csv", "missing.csv", "x,y,label\n1,,a\n,2,b\nnan,inf,a\n")
broken("csv", "small.tsv", "f1\tf2\tlabel\n1\t2\tcat\n3\t4\tdog\n5\t6\tcat\r\n")
put("csv", "numeric_labels.csv", "x,label\n1,0\n2,1\n3,2\n4,10\n")

f32 = struct.pack("<6f", 1, 2, 3, 4, 5, 6)
broken("npy", "f32.npy", npy("<f4", [2, 3], f32))
put("npy", "f64.npy", npy("<f8", [3], struct.pack("<3d", 1, 2, 3)))
put("npy", "i64.npy", npy("<i8", [4], struct.pack("<4q", 0, 1, 2, 1)))
put("npy", "u1_3d.npy", npy("|u1", [2, 2, 2], bytes(range(8))))
put("npy", "be_f4.npy", npy(">f4", [2], struct.pack(">2f", 1.5, -2)))
put("npy", "v2.npy", npy("<i4", [3, 1], struct.pack("<3i", 5, 6, 7), version=2))
put("npy", "bool.npy", npy("|b1", [3], b"\x01\x00\x01"))

broken("idx", "images", idx_images(3, 2, 2))
put("idx", "pair", idx_images(2, 3, 1) + b"IDXSPLIT" + idx_labels(2))
put("idx", "pair_short_labels", idx_images(4, 1, 1) + b"IDXSPLIT" + idx_labels(3))
put("idx", "labels_as_images", idx_labels(5))

broken("gzip", "small.csv.gz", gzip.compress(csv.encode(), mtime=0))
put("gzip", "empty.gz", gzip.compress(b"", mtime=0))
put("gzip", "two_members.gz", gzip.compress(b"a,label\n1,x\n", mtime=0) + gzip.compress(b"2,y\n", mtime=0))
put("gzip", "plain.csv", csv)

st = safetensors([("w", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)), ("b", "F16", [2], struct.pack("<2H", 0x3C00, 0xC000)),
                  ("h", "BF16", [1, 2], struct.pack("<2H", 0x3F80, 0x4000)), ("i", "I64", [1], struct.pack("<q", 7))],
                 {"format": "pt"})
broken("safetensors", "small.safetensors", st)
put("safetensors", "empty.safetensors", safetensors([]))
put("safetensors", "scalar.safetensors", safetensors([("s", "F32", [], struct.pack("<f", 3))]))
put("safetensors", "zero_dim.safetensors", safetensors([("z", "F32", [0, 4], b"")]))

tree = {"classes": ["a", "b", "c", "d"],
        "tree": {"name": "root", "children": [{"name": "g0", "children": [{"class": "a"}, {"class": "b"}]},
                                              {"name": "g1", "children": [{"class": "c"}, {"class": "d"}]}]}}
broken("label_tree", "two_groups.json", json.dumps(tree))
put("label_tree", "flat.json", json.dumps({"classes": ["x", "y"], "tree": {"children": [{"class": "x"}, {"class": "y"}]}}))
put("label_tree", "deeper.json", json.dumps({"classes": ["a", "b", "c"], "tree": {"children": [{"class": "a"}, {"children": [{"class": "b"}, {"children": [{"class": "c"}]}]}]}}))
put("label_tree", "dup_class.json", json.dumps({"classes": ["a", "b"], "tree": {"children": [{"class": "a"}, {"class": "a"}]}}))

put("text", "small.jsonl", '{"text": "the cat sat", "label": "animal"}\n{"text": "a red car", "label": "vehicle"}\n'
    '{"text": "dogs bark", "label": "animal"}\n{"text": "a fast bus", "label": 3}\n')
broken("text", "small2.jsonl", '{"text": "x y z", "label": 1}\n{"text": "\\u00e9t\\u00e9 \\"q\\"", "label": 2}\n\n')
broken("text", "small.tsv", "id\ttext\tlabel\n1\tthe cat sat\tanimal\n2\ta red car\tvehicle\n3\tdogs bark\tanimal\n")
put("text", "crlf.tsv", "text\tlabel\r\nhello world\ta\r\nbye\tb\r\n")

wp_vocab = "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "hello", "world", ",", "!",
                       "\u4f60", "\u597d", "h", "##e", "##l", "##o", "caf", "##e\u0301", "##x"]) + "\n"
broken("wordpiece", "vocab", wp_vocab)
put("wordpiece", "with_config", wp_vocab + "=====\n" + json.dumps({"do_lower_case": False, "strip_accents": True,
                                                                   "tokenize_chinese_chars": False}) + "\n=====\nHello unaffable caf\u00e9")
put("wordpiece", "crlf_text", wp_vocab.replace("\n", "\r\n") + "=====\n{}\n=====\n\u4f60\u597d,hello!")
put("wordpiece", "missing_unk", wp_vocab.replace("[UNK]\n", ""))
put("wordpiece", "duplicate", wp_vocab + "hello\n")

work = tempfile.mkdtemp()
try:
    lines = []
    words = ["cat", "dog", "car", "bus", "tree", "leaf", "red", "blue", "fast", "slow", "big", "small"]
    for i in range(120):
        lines.append(json.dumps({"text": " ".join(words[(i * k) % 12] for k in range(1, 6)), "label": "c%d" % (i % 3)}))
    with open(os.path.join(work, "t.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")
    ck = os.path.join(work, "ck")
    subprocess.run([STRATA, "train", "--data", os.path.join(work, "t.jsonl"), "--model", "tiny", "--steps", "2", "--batch", "4",
                    "--micro-batch", "4", "--seq-len", "16", "--vocab-size", "40", "--save", ck, "--quiet"], check=True)
    tok = strip_charsmap(open(os.path.join(ck, "tokenizer.model"), "rb").read())
    put("tokenizer", "tiny.model", tok)
    put("tokenizer", "tiny.model.trunc", tok[: len(tok) // 2])
    put("tokenizer", "tiny.model.flip", tok[:100] + bytes([tok[100] ^ 0x5A]) + tok[101:])
    broken("config_json", "tiny_config.json", open(os.path.join(ck, "config.json"), "rb").read())
    put("config_json", "minimal.json", json.dumps({"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1,
                                                  "num_attention_heads": 2, "intermediate_size": 16}))
    state = open(os.path.join(ck, "trainer_state.json"), "rb").read()
    broken("trainer_state", "trainer_state.json", state)
    opts = json.loads(state)["options"]
    put("trainer_state", "compact.json", json.dumps({"options": opts}))
    put("trainer_state", "strings.json", json.dumps({"options": {k: str(v) for k, v in opts.items()}}))

    csvp = os.path.join(work, "d.csv")
    with open(csvp, "w") as f:
        f.write("a,b,label\n" + "".join("%d,%d,%s\n" % (i % 7, (i * 3) % 5, "xyzw"[i % 4]) for i in range(40)))
    for learner, extra in (("forest", ["--trees", "2", "--max-depth", "3"]), ("logistic", [])):
        out = os.path.join(work, learner + ".strata")
        subprocess.run([STRATA, "--progress", "none", "fit", "--train", csvp, "--learner", learner, "--tree", "induced", "--out", out] + extra,
                       check=True, stdout=subprocess.DEVNULL)
        model = open(out, "rb").read()
        put("hier_model", learner, model)  # not *.strata: .gitignore drops those
        put("hier_model", learner + ".trunc", model[: len(model) * 2 // 3])
        put("hier_model", learner + ".flip", model[:40] + bytes([model[40] ^ 0x5A]) + model[41:])
    subprocess.run([STRATA, "--progress", "none", "induce", "--train", csvp, "--out", os.path.join(work, "tree.json")], check=True,
                   stdout=subprocess.DEVNULL)
    put("label_tree", "induced.json", open(os.path.join(work, "tree.json"), "rb").read())
finally:
    shutil.rmtree(work)
