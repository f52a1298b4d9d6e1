#!/usr/bin/env python3
"""Writes the crafted model files the bug traces in traces/ load (SPEC R-TRACE-060). Each is a
valid micro llama model (8 tokens, dim 8, one layer, n_ctx 32, F32: about 4 KiB) with the one
defect its bug needs. Deterministic: the same bytes every run (their sha256 is pinned in the
traces' headers).

    /usr/bin/python3 traces/models/make_models.py [OUT_DIR]    (default: this folder)

  tensor-name-newline.gguf   an extra tensor named "blk.0.ffn_n\\norm.weight" (a newline in the
                             name): model binding rejects it with UNSUPPORTED_MODEL, naming it
"""
import os
import struct
import sys

ALIGN = 32
DIM, FFN, VOCAB = 8, 16, 8

# GGUF value types (SPEC chapter 2)
T_U32, T_I32, T_F32, T_STR, T_ARR = 4, 5, 6, 8, 9
GGML_F32 = 0


def gguf_str(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, value):
    out = gguf_str(key) + struct.pack("<I", vtype)
    if vtype == T_STR:
        return out + gguf_str(value)
    if vtype == T_ARR:
        etype, items = value
        fmt = {T_F32: "<f", T_I32: "<i"}
        body = b"".join(gguf_str(x) if etype == T_STR else struct.pack(fmt[etype], x)
                        for x in items)
        return out + struct.pack("<IQ", etype, len(items)) + body
    return out + struct.pack({T_U32: "<I", T_F32: "<f"}[vtype], value)


def weights(n, state):
    """n deterministic floats in [-0.5, 0.5) from an LCG (as the C micro model); OUT: state."""
    out = []
    for _ in range(n):
        state[0] = (state[0] * 1664525 + 1013904223) & 0xFFFFFFFF
        out.append((state[0] >> 8) / 16777216.0 - 0.5)
    return out


def micro_llama(extra_tensors=()):
    """The bytes of the micro model plus extra (name, dims, floats) tensors."""
    seed = [12345]
    ones = [1.0] * DIM
    tensors = [
        ("token_embd.weight", (DIM, VOCAB), weights(DIM * VOCAB, seed)),
        ("blk.0.attn_norm.weight", (DIM,), ones),
        ("blk.0.attn_q.weight", (DIM, DIM), weights(DIM * DIM, seed)),
        ("blk.0.attn_k.weight", (DIM, DIM), weights(DIM * DIM, seed)),
        ("blk.0.attn_v.weight", (DIM, DIM), weights(DIM * DIM, seed)),
        ("blk.0.attn_output.weight", (DIM, DIM), weights(DIM * DIM, seed)),
        ("blk.0.ffn_norm.weight", (DIM,), ones),
        ("blk.0.ffn_gate.weight", (DIM, FFN), weights(DIM * FFN, seed)),
        ("blk.0.ffn_down.weight", (FFN, DIM), weights(DIM * FFN, seed)),
        ("blk.0.ffn_up.weight", (DIM, FFN), weights(DIM * FFN, seed)),
        ("output_norm.weight", (DIM,), ones),
    ] + list(extra_tensors)
    tokens = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "c", "\u2581a"]
    kvs = [
        kv("general.architecture", T_STR, "llama"),
        kv("llama.context_length", T_U32, 32),
        kv("llama.embedding_length", T_U32, DIM),
        kv("llama.block_count", T_U32, 1),
        kv("llama.feed_forward_length", T_U32, FFN),
        kv("llama.attention.head_count", T_U32, 2),
        kv("llama.attention.head_count_kv", T_U32, 2),
        kv("llama.attention.layer_norm_rms_epsilon", T_F32, 1e-5),
        kv("tokenizer.ggml.model", T_STR, "llama"),
        kv("tokenizer.ggml.tokens", T_ARR, (T_STR, tokens)),
        kv("tokenizer.ggml.scores", T_ARR, (T_F32, [0, 0, 0, -1, -2, -3, -4, -0.5])),
        kv("tokenizer.ggml.token_type", T_ARR, (T_I32, [2, 3, 3, 1, 1, 1, 1, 1])),
        kv("tokenizer.ggml.bos_token_id", T_U32, 1),
        kv("tokenizer.ggml.eos_token_id", T_U32, 2),
        kv("tokenizer.ggml.unknown_token_id", T_U32, 0),
    ]
    infos, data = [], b""
    for name, dims, values in tensors:
        infos.append(gguf_str(name) + struct.pack("<I", len(dims)) +
                     b"".join(struct.pack("<Q", d) for d in dims) +
                     struct.pack("<IQ", GGML_F32, len(data)))
        data += struct.pack("<%df" % len(values), *values)
        data += b"\0" * (-len(data) % ALIGN)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + \
        b"".join(infos)
    return head + b"\0" * (-len(head) % ALIGN) + data


MODELS = {
    "tensor-name-newline.gguf":
        lambda: micro_llama([("blk.0.ffn_n\norm.weight", (DIM,), [1.0] * DIM)]),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, make in MODELS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(make())
        print("wrote %s" % os.path.join(out, name))


if __name__ == "__main__":
    main()
