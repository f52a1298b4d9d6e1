"""Tokenization through the wire protocol on the byte-level BPE fixture (SPEC 5.2).

The fixture golden/models/tiny-f32-gqa-untied-bpe.gguf is a llama model whose vocabulary is
byte-level BPE (tokenizer.ggml.model gpt2, pre llama-bpe). The expected prompt tokens come from a
small independent encoder written here from the SPEC: the fixture's tokens and merges read from
the file, llama.cpp's Llama 3 expression run by the `regex` module (python3-regex), GPT-2's byte
alphabet, merges by rank, ignore_merges. Any implementation that loads the fixture must tokenize
every prompt to [BOS] + those ids and give back, through its pieces, the bytes it generated.
"""
import struct

import pytest

from ggufref_harness import fixtures

regex = pytest.importorskip("regex")  # tools/deps.sh installs python3-regex

req = pytest.mark.req
BPE = "tiny-f32-gqa-untied-bpe"
needs_bpe = pytest.mark.skipif(not fixtures.have(BPE), reason="golden/models not generated")

L3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
      r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

PROMPTS = [
    "Once upon a time, the little girl Lily was in a caf\u00e9.\n",
    "I'LL see you'd they're 12345 times!!  \t\n\n  ok",
    "h\u00e9llo w\u00f6rld \u65e5\u672c\u8a9e \U0001f999 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 e\u0301",
    "   leading spaces and trailing   ",
    "<|begin_of_text|> is text here, not BOS",
]


def read_vocab(path):
    """tokenizer.ggml.* of a GGUF v3 file (enough of a reader for the fixture)."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 4 + 4
    n_tensors, n_kv = struct.unpack_from("<QQ", data, pos)
    pos += 16

    def string():
        nonlocal pos
        (n,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        s = data[pos:pos + n]
        pos += n
        return s.decode("utf-8")

    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q",
              11: "<q", 12: "<d"}

    def value(t):
        nonlocal pos
        if t == 8:
            return string()
        if t == 9:
            et, n = struct.unpack_from("<IQ", data, pos)
            pos += 12
            return [value(et) for _ in range(n)]
        (v,) = struct.unpack_from(scalar[t], data, pos)
        pos += struct.calcsize(scalar[t])
        return v

    kv = {}
    for _ in range(n_kv):
        k = string()
        (t,) = struct.unpack_from("<I", data, pos)
        pos += 4
        kv[k] = value(t)
    return kv


def byte_alphabet():
    self_ = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or b >= 0xAE]
    others = [b for b in range(256) if b not in self_]
    return [chr(b) if b in self_ else chr(256 + others.index(b)) for b in range(256)]


class Encoder:
    def __init__(self, kv):
        assert kv["tokenizer.ggml.model"] == "gpt2" and kv["tokenizer.ggml.pre"] == "llama-bpe"
        self.ids = {t: i for i, t in enumerate(kv["tokenizer.ggml.tokens"])}
        self.ranks = {tuple(m.split(" ")): r for r, m in enumerate(kv["tokenizer.ggml.merges"])}
        self.bos = kv["tokenizer.ggml.bos_token_id"]
        self.abc = byte_alphabet()
        self.pieces = {i: self.decode_one(t) for t, i in self.ids.items()}
        self.types = kv["tokenizer.ggml.token_type"]

    def decode_one(self, text):
        back = {c: b for b, c in enumerate(self.abc)}
        return bytes(back[c] for c in text) if all(c in back for c in text) else text.encode()

    def encode(self, text):
        out = []
        for piece in regex.findall(L3, text):  # L3 matches every character: no gaps
            word = "".join(self.abc[b] for b in piece.encode("utf-8"))
            if word in self.ids:  # ignore_merges (R-TOK-035)
                out.append(self.ids[word])
                continue
            syms = list(word)
            while len(syms) > 1:  # lowest rank, leftmost (R-TOK-039)
                best = min(range(len(syms) - 1),
                           key=lambda i: (self.ranks.get((syms[i], syms[i + 1]), 1 << 30), i))
                if (syms[best], syms[best + 1]) not in self.ranks:
                    break
                syms[best:best + 2] = [syms[best] + syms[best + 1]]
            out.extend(self.ids[s] for s in syms)
        return out


@pytest.fixture(scope="module")
def encoder():
    return Encoder(read_vocab(fixtures.path_of(BPE)))


@req("R-TOK-030", "R-TOK-031", "R-TOK-032", "R-TOK-035", "R-TOK-039", "R-TOK-041", "R-RT-021")
@needs_bpe
@pytest.mark.parametrize("prompt", PROMPTS)
def test_bpe_prompt_tokens(server, encoder, prompt):
    """The prompt tokens of generate on the BPE fixture: BOS, then the SPEC's encoding (the text
    of a CONTROL token is text: nothing is parsed)."""
    server.request("boot").expect_ok()
    server.request("load-model", path=fixtures.path_of(BPE)).expect_ok()
    server.request("configure-sampling", max_tokens=3, stop_at_eos=False).expect_ok()
    res = server.request("generate", prompt=prompt).expect_ok()
    assert res["prompt_tokens"] == [encoder.bos] + encoder.encode(prompt)


@req("R-TOK-046")
@needs_bpe
def test_bpe_generated_pieces_are_bytes(server, encoder):
    """Every streamed piece is the token's bytes (byte alphabet read back; CONTROL: nothing)."""
    server.request("boot").expect_ok()
    server.request("load-model", path=fixtures.path_of(BPE)).expect_ok()
    server.request("configure-sampling", max_tokens=12, stop_at_eos=False,
                   temperature=1.0, seed=7).expect_ok()
    r = server.request("generate", prompt="Once upon a time")
    r.expect_ok()
    for t in r.tokens:
        want = b"" if encoder.types[t["token"]] == 3 else encoder.pieces[t["token"]]
        assert bytes.fromhex(t["piece"]) == want
