#!/usr/bin/env python3
"""Independent check of the committed fixture models (golden/models), with no ggufref code.

For every *.gguf listed in manifest.json it parses the whole GGUF file (v3; the reader edge cases
in models/edge also v1 with u32 counts, and v2) and checks:
  - layout: header, metadata, tensor infos, data offset aligned to general.alignment (default
    32), tensor offsets aligned, ascending and contiguous up to padding, file size aligned;
  - types: each tensor's byte size from ggml's block table, ne[0] a multiple of the block;
  - llama binding: hyperparameter keys, every tensor name and shape they imply, norms F32,
    tied models have no output.weight;
  - vocabulary (byte-level BPE for the fixture the manifest marks "tokenizer": "gpt2": the byte
    alphabet, merges naming tokens, BOS/EOS CONTROL at the end); otherwise
    SentencePiece ids 0/1/2 = <unk>/<s>/</s>, 256 byte tokens <0xXX> (type 6),
    unique pieces, every multi-character piece reachable by merges (its prefixes exist),
    scores strictly decreasing within a piece length;
  - values: every f16 block scale finite and below 1, plain weights finite and |w| <= 1;
  - manifest.json (one JSON object per line, `version` the file's GGUF version) and SHA256SUMS
    agree with the files.
Usage: check_fixtures.py DIR      (exit 0 when all fixtures pass)
"""
import hashlib
import json
import os
import struct
import sys

import numpy as np

# type id: (name, elements per block, bytes per block, byte offsets of f16 scales in a block)
TYPES = {
    0: ("F32", 1, 4, ()), 1: ("F16", 1, 2, ()), 30: ("BF16", 1, 2, ()),
    2: ("Q4_0", 32, 18, (0,)), 3: ("Q4_1", 32, 20, (0, 2)),
    6: ("Q5_0", 32, 22, (0,)), 7: ("Q5_1", 32, 24, (0, 2)), 8: ("Q8_0", 32, 34, (0,)),
    10: ("Q2_K", 256, 84, (80, 82)), 11: ("Q3_K", 256, 110, (108,)),
    12: ("Q4_K", 256, 144, (0, 2)), 13: ("Q5_K", 256, 176, (0, 2)), 14: ("Q6_K", 256, 210, (208,)),
}
SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
          11: "<q", 12: "<d"}
SP = "\u2581"


class Reader:
    def __init__(self, data):
        self.d, self.o = data, 0
        self.count = "<Q"  # counts and lengths: u64, u32 in GGUF v1

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.o)[0]
        self.o += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take(self.count)
        s = self.d[self.o:self.o + n]
        if len(s) != n:
            raise ValueError("string past end of file at %d" % self.o)
        self.o += n
        return s.decode("utf-8")

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("<I"), self.take(self.count)
            return [self.value(et) for _ in range(n)]
        return self.take(SCALAR[t])


def parse(data):
    r = Reader(data)
    assert data[:4] == b"GGUF", "magic"
    r.o = 4
    version = r.take("<I")
    assert version in (1, 2, 3), "version must be 1, 2 or 3"
    if version == 1:
        r.count = "<I"
    n_tensors, n_kv = r.take(r.count), r.take(r.count)
    kv, kv_types = {}, {}
    for _ in range(n_kv):
        key = r.string()
        t = r.take("<I")
        assert key not in kv, "duplicate key " + key
        kv[key], kv_types[key] = r.value(t), t
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.take("<I")
        ne = [r.take(r.count) for _ in range(n_dims)]
        tensors.append({"name": name, "ne": ne, "type": r.take("<I"), "offset": r.take("<Q")})
    kv["<version>"] = version
    return kv, kv_types, tensors, r.o


def align(x, a):
    return (x + a - 1) // a * a


def check_layout(data, kv, kv_types, tensors, end_of_infos):
    alignment = kv.get("general.alignment", 32)
    if "general.alignment" in kv:
        assert kv_types["general.alignment"] == 4, "general.alignment must be u32"
    data_offset = align(end_of_infos, alignment)
    assert data[end_of_infos:data_offset] == bytes(data_offset - end_of_infos), "padding not zero"
    expect = 0
    for t in tensors:
        name, block, size, _ = TYPES[t["type"]]
        assert t["ne"][0] % block == 0, "%s: ne[0] not a multiple of %d" % (t["name"], block)
        n = int(np.prod(t["ne"]))
        t["n_bytes"] = n // block * size
        assert t["offset"] == expect, "%s: offset %d, expected %d" % (t["name"], t["offset"], expect)
        t["data"] = data[data_offset + t["offset"]:data_offset + t["offset"] + t["n_bytes"]]
        assert len(t["data"]) == t["n_bytes"], t["name"] + ": data past end of file"
        expect = align(t["offset"] + t["n_bytes"], alignment)
    assert len(data) == data_offset + expect, "file size %d, expected %d" % (len(data), data_offset + expect)
    return alignment


def check_llama(kv, tensors, meta):
    """The llama layout, or a qwen2 / qwen3 one (SPEC R-MODEL-020..026): keys prefixed by the
    architecture, qwen2 Q/K/V biases, qwen3 Q/K norms and key_length, llama rope_freqs."""
    a = kv["general.architecture"]
    assert a == meta.get("arch", "llama") and a in ("llama", "qwen2", "qwen3"), "architecture"
    dim = kv[a + ".embedding_length"]
    n_layers = kv[a + ".block_count"]
    n_heads = kv[a + ".attention.head_count"]
    n_kv = kv.get(a + ".attention.head_count_kv", n_heads)
    ffn = kv[a + ".feed_forward_length"]
    head_dim = kv.get(a + ".attention.key_length", dim // n_heads)
    assert kv.get(a + ".attention.value_length", dim // n_heads) == head_dim
    assert kv.get(a + ".rope.dimension_count", head_dim) == head_dim
    assert (a + ".attention.key_length" in kv or dim % n_heads == 0) and n_heads % n_kv == 0
    n_vocab = len(kv["tokenizer.ggml.tokens"])
    kv_dim = n_kv * head_dim
    q_dim = n_heads * head_dim
    want = [("token_embd.weight", [dim, n_vocab])]
    if meta.get("rope_freqs"):
        assert a == "llama"
        want.append(("rope_freqs.weight", [head_dim // 2]))
    for i in range(n_layers):
        b = "blk.%d." % i
        want += [(b + "attn_norm.weight", [dim]), (b + "attn_q.weight", [dim, q_dim])]
        want += [(b + "attn_q.bias", [q_dim])] if a == "qwen2" else []
        want += [(b + "attn_k.weight", [dim, kv_dim])]
        want += [(b + "attn_k.bias", [kv_dim])] if a == "qwen2" else []
        want += [(b + "attn_v.weight", [dim, kv_dim])]
        want += [(b + "attn_v.bias", [kv_dim])] if a == "qwen2" else []
        if a == "qwen3":
            want += [(b + "attn_q_norm.weight", [head_dim]), (b + "attn_k_norm.weight", [head_dim])]
        want += [(b + "attn_output.weight", [q_dim, dim]), (b + "ffn_norm.weight", [dim]),
                 (b + "ffn_gate.weight", [dim, ffn]), (b + "ffn_down.weight", [ffn, dim]),
                 (b + "ffn_up.weight", [dim, ffn])]
    want.append(("output_norm.weight", [dim]))
    if not meta["tied"]:
        want.append(("output.weight", [dim, n_vocab]))
    got = [(t["name"], t["ne"]) for t in tensors]
    assert got == want, "tensors differ from the llama layout: %s" % (set(map(str, got)) ^ set(map(str, want)))
    for t in tensors:
        if t["name"].endswith("norm.weight"):
            assert t["type"] == 0, t["name"] + " must be F32"
    facts = {"dim": dim, "n_layers": n_layers, "n_heads": n_heads, "n_kv_heads": n_kv,
             "head_dim": head_dim, "ffn": ffn, "n_vocab": n_vocab,
             "n_ctx": kv[a + ".context_length"],
             "tied": all(t["name"] != "output.weight" for t in tensors)}
    for k, v in facts.items():
        assert meta[k] == v, "manifest %s = %r, file says %r" % (k, meta[k], v)


def byte_alphabet():
    """GPT-2's byte-to-unicode characters, byte order (SPEC R-TOK-031)."""
    self_ = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or b >= 0xAE]
    others = [b for b in range(256) if b not in self_]
    return [chr(b) if b in self_ else chr(256 + others.index(b)) for b in range(256)]


def check_bpe_vocab(kv):
    """The tiny byte-level BPE vocabulary (gen/vocab.c VOCAB_BPE_TINY)."""
    toks, types, merges = (kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.token_type"],
                           kv["tokenizer.ggml.merges"])
    assert kv["tokenizer.ggml.pre"] == "llama-bpe"
    assert len(toks) == len(types) and len(set(toks)) == len(toks), "tokens"
    assert toks[:256] == byte_alphabet() and types[:256] == [1] * 256, "byte alphabet"
    assert toks[-2:] == ["<|begin_of_text|>", "<|end_of_text|>"] and types[-2:] == [3, 3]
    assert (kv["tokenizer.ggml.bos_token_id"], kv["tokenizer.ggml.eos_token_id"]) == \
        (len(toks) - 2, len(toks) - 1)
    assert kv["tokenizer.ggml.add_bos_token"] is True
    pieces = set(toks)
    for m in merges:
        left, right = m.split(" ")
        assert left in pieces and right in pieces and left + right in pieces, "merge %r" % m
    assert len(merges) == len(toks) - 256 - 2, "one merge per merged token"


def check_vocab(kv):
    if kv["tokenizer.ggml.model"] == "gpt2":
        return check_bpe_vocab(kv)
    toks, scores, types = (kv["tokenizer.ggml.tokens"], kv["tokenizer.ggml.scores"],
                           kv["tokenizer.ggml.token_type"])
    assert kv["tokenizer.ggml.model"] == "llama"
    assert len(toks) == len(scores) == len(types)
    assert toks[:3] == ["<unk>", "<s>", "</s>"] and types[:3] == [2, 3, 3]
    assert (kv["tokenizer.ggml.unknown_token_id"], kv["tokenizer.ggml.bos_token_id"],
            kv["tokenizer.ggml.eos_token_id"]) == (0, 1, 2)
    assert kv["tokenizer.ggml.add_bos_token"] is True
    for b in range(256):
        assert toks[3 + b] == "<0x%02X>" % b and types[3 + b] == 6
    normal = toks[259:]
    assert all(t == 1 for t in types[259:]) and len(set(normal)) == len(normal), "pieces"
    pieces = set(normal)
    for p in normal:
        for k in range(1, len(p)):
            assert p[:k] in pieces, "piece %r not reachable: %r missing" % (p, p[:k])
    for i in range(259, len(toks)):  # score = length in code points - index / 65536
        assert len(toks[i]) - 1 < scores[i] <= len(toks[i]), "score of %d" % i
        if i + 1 < len(toks) and len(toks[i]) == len(toks[i + 1]):
            assert scores[i] > scores[i + 1], "scores not decreasing at %d" % i


def check_values(tensors):
    for t in tensors:
        name, block, size, scale_offsets = TYPES[t["type"]]
        raw = np.frombuffer(t["data"], dtype=np.uint8)
        if t["type"] in (0, 1, 30):
            if t["type"] == 0:
                w = raw.view("<f4")
            elif t["type"] == 1:
                w = raw.view("<f2").astype(np.float32)
            else:
                w = (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)
            bound = 8.0 if t["name"] == "rope_freqs.weight" else 1.25  # divisors in [1, 8]
            assert np.all(np.isfinite(w)) and np.max(np.abs(w)) <= bound, t["name"] + ": bad values"
            continue
        blocks = raw.reshape(-1, size)
        for off in scale_offsets:
            s = blocks[:, off:off + 2].copy().view("<f2").astype(np.float32)
            assert np.all(np.isfinite(s)) and np.max(np.abs(s)) < 1.0, \
                "%s: scale at block byte %d not finite/small" % (t["name"], off)


def main(folder):
    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    assert lines[0] == "[" and lines[-2:] == ["]", ""], "manifest.json: one object per line in [ ]"
    manifest = [json.loads(line.rstrip(",")) for line in lines[1:-2]]
    with open(os.path.join(folder, "SHA256SUMS"), encoding="utf-8") as f:
        sums = {name: digest for digest, name in (l.split("  ") for l in f.read().splitlines())}
    files = sorted(n for n in os.listdir(folder) if n.endswith(".gguf"))
    assert files == sorted(m["file"] for m in manifest) == sorted(sums), "file lists differ"
    failed = 0
    for meta in manifest:
        path = os.path.join(folder, meta["file"])
        try:
            with open(path, "rb") as f:
                data = f.read()
            digest = hashlib.sha256(data).hexdigest()
            assert digest == meta["sha256"] == sums[meta["file"]], "sha256 mismatch"
            assert len(data) == meta["size"], "size mismatch"
            kv, kv_types, tensors, end = parse(data)
            assert kv.pop("<version>") == meta["version"], "GGUF version differs from the manifest"
            assert check_layout(data, kv, kv_types, tensors, end) == meta["alignment"]
            check_llama(kv, tensors, meta)
            check_vocab(kv)
            assert meta.get("tokenizer", "llama") == kv["tokenizer.ggml.model"], "manifest tokenizer"
            check_values(tensors)
            attn_q = next(t for t in tensors if t["name"] == "blk.0.attn_q.weight")
            assert TYPES[attn_q["type"]][0] == meta["type"], "type of attn_q"
            print("ok    %s (%d tensors, %d bytes)" % (meta["file"], len(tensors), len(data)))
        except (AssertionError, ValueError, KeyError, struct.error) as e:
            print("FAIL  %s: %s" % (meta["file"], e))
            failed += 1
    print("%d fixtures, %d failed" % (len(manifest), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_fixtures.py DIR")
    sys.exit(main(sys.argv[1]))
