"""Hypothesis properties of the byte-level BPE tokenizer (SPEC 5.2), harness-free.

Drives conformance/bpe_tool (built with the suites; ctest bpe_properties runs this file):
  - R-TOK-032, R-TOK-031: the hand-written pre-tokenizers cut random Unicode exactly where
    llama.cpp's regular expressions (its adapted lists, applied in turn, matches and the runs
    between them kept) cut it with the `regex` module (python3-regex, Unicode 15.0 like our
    table): 8 pre-tokenizers x 400 texts;
  - R-TOK-049: decode(encode(s)) == s on the Llama 3 (converted) and GPT-2 (material) vocabularies
    for random Unicode: combining marks, CJK, emoji, RTL, controls, whitespace runs.
Environment: BPE_TOOL (the binary), GGUFREF_BUILD_DIR (converted vocabularies in bpe-vocabs/),
GGUFREF_SHARED_DIR (the material). A missing tool or converted vocabulary FAILS.
"""
import os
import subprocess

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

G = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
L3 = (r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
      r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
Q2 = L3.replace(r"\p{N}{1,3}", r"\p{N}")
CJK = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"
# deepseek-llm's letter class: the ranges of llama.cpp's expression (pretok.c DSL_LETTERS)
DSL_RANGES = [(0x41, 0x5A), (0x61, 0x7A), (0xB5, 0xB5), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x1BA),
              (0x1BC, 0x1BF), (0x1C4, 0x293), (0x295, 0x2AF), (0x370, 0x373), (0x376, 0x377),
              (0x37B, 0x37D), (0x37F, 0x37F), (0x386, 0x386), (0x388, 0x38A), (0x38C, 0x38C),
              (0x38E, 0x3A1), (0x3A3, 0x3F5), (0x3F7, 0x481), (0x48A, 0x52F), (0x531, 0x556),
              (0x10A0, 0x10C5), (0x13A0, 0x13F5), (0x13F8, 0x13FD), (0x1C90, 0x1CBA), (0x1CBD, 0x1CBF),
              (0x1D00, 0x1D2B), (0x1D6B, 0x1D77), (0x1D79, 0x1D9A), (0x1E00, 0x1F15), (0x1F18, 0x1F1D),
              (0x1F20, 0x1F45), (0x1F48, 0x1F4D), (0x1F50, 0x1F57), (0x1F59, 0x1F59), (0x1F5B, 0x1F5B),
              (0x1F5D, 0x1F5D), (0x1F5F, 0x1F7D), (0x1F80, 0x1FB4), (0x1FB6, 0x1FBC), (0x1FBE, 0x1FBE),
              (0x1FC2, 0x1FC4), (0x1FC6, 0x1FCC), (0x1FD0, 0x1FD3), (0x1FD6, 0x1FDB), (0x1FE0, 0x1FEC),
              (0x1FF2, 0x1FF4), (0x1FF6, 0x1FFC), (0x2102, 0x2102), (0x2107, 0x2107), (0x210A, 0x2113),
              (0x2115, 0x2115), (0x2119, 0x211D), (0x2124, 0x2124), (0x2126, 0x2126), (0x2128, 0x2128),
              (0x212A, 0x212D), (0x212F, 0x2134), (0x2139, 0x2139), (0x213C, 0x213F), (0x2145, 0x2149),
              (0x214E, 0x214E), (0x2183, 0x2184), (0x2C00, 0x2C7B), (0x2C7E, 0x2CE4), (0x2CEB, 0x2CEE),
              (0x2CF2, 0x2CF3), (0xA640, 0xA66D), (0xA680, 0xA69B), (0xA722, 0xA76F), (0xA771, 0xA787),
              (0xA78B, 0xA78E), (0xAB70, 0xABBF), (0xFB00, 0xFB06), (0xFB13, 0xFB17), (0xFF21, 0xFF3A),
              (0xFF41, 0xFF5A), (0x10400, 0x1044F), (0x104B0, 0x104D3), (0x104D8, 0x104FB),
              (0x10C80, 0x10CB2), (0x10CC0, 0x10CF2), (0x118A0, 0x118DF), (0x1E900, 0x1E943)]
DSL_LETTERS = "[" + "".join(regex.escape(chr(a)) + "-" + regex.escape(chr(b)) for a, b in DSL_RANGES) + "]"
DSL_PUNCT = "[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]"

EXPRESSIONS = {  # llama.cpp's lists (llm_tokenizer_bpe), `$` spelled \Z (Python's $ also matches before a final \n)
    "gpt-2": [G],
    "llama-bpe": [L3],
    "qwen2": [Q2],
    "deepseek-llm": [r"[\r\n]", r"\s?" + DSL_LETTERS + "+", r"\s?" + DSL_PUNCT + "+", r"\s+\Z", CJK, r"\p{N}+"],
    "deepseek-coder": [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", CJK, r"\p{N}"],
    "falcon": [r"[\p{P}\$\+<=>\^~\|`]+", G, r"[0-9][0-9][0-9]"],
    "starcoder": [r"\p{N}", G],
    "default": [r"[\p{P}\$\+<=>\^~\|]+", G, r"\p{N}+", r"[0-9][0-9][0-9]"],
}
COMPILED = {k: [regex.compile(e) for e in v] for k, v in EXPRESSIONS.items()}


def regex_pieces(pre, text):
    pieces = [text]
    for r in COMPILED[pre]:
        out = []
        for p in pieces:
            pos = 0
            for m in r.finditer(p):
                if m.start() > pos:
                    out.append(p[pos:m.start()])
                if m.end() > m.start():
                    out.append(m.group())
                pos = m.end()
            if pos < len(p):
                out.append(p[pos:])
        pieces = out
    return pieces


def tool_path():
    path = os.environ.get("BPE_TOOL")
    if not path or not os.path.exists(path):
        pytest.fail("BPE_TOOL does not name the built conformance/bpe_tool (ctest bpe_properties sets it)")
    return path


class Tool:
    """One bpe_tool process: a line of hex in, (pieces, ids, decoded bytes) out."""

    def __init__(self, pre, vocab="-"):
        self.p = subprocess.Popen([tool_path(), pre, vocab], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, bufsize=1)

    def run(self, data: bytes):
        self.p.stdin.write(data.hex() + "\n")
        self.p.stdin.flush()
        pieces, ids, decoded = self.p.stdout.readline().rstrip("\n").split("\t")
        return ([bytes.fromhex(x) for x in pieces.split("|")] if pieces else [], ids,
                bytes.fromhex(decoded) if not decoded.startswith("ERROR") else None)

    def close(self):
        self.p.stdin.close()
        assert self.p.wait() == 0


TRICKY = list(" \t\r\n\x0b\x0c\x85\u00a0\u2000\u3000'sStTlLdDmMvVrReE0123456789\u0663\u2167!?.,;:$+<=>^~|`_-"
              "aZ\u00e9\u0301\u4e2d\u6587\uac00\u05d0\u0627\U0001f600\u200d\ufe0f\uff01\u2018\u00b5\u1f5f\x00\x1c")
TEXT = st.text(alphabet=st.one_of(st.sampled_from(TRICKY), st.characters(blacklist_categories=("Cs",))),
               max_size=48)
TOOLS = {}


def tool(pre, vocab="-"):
    if (pre, vocab) not in TOOLS:
        TOOLS[(pre, vocab)] = Tool(pre, vocab)
    return TOOLS[(pre, vocab)]


@pytest.mark.parametrize("pre", sorted(EXPRESSIONS))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT)
def test_pieces_equal_llama_cpp_expressions(pre, text):
    """R-TOK-032, R-TOK-031: pieces equal to the regular expressions' on random Unicode."""
    want = [p.encode("utf-8") for p in regex_pieces(pre, text)]
    got, _, _ = tool(pre).run(text.encode("utf-8"))
    assert got == want, f"{pre}: {text!r}"


def vocab_file(name):
    if name == "llama-bpe":
        b = os.environ.get("GGUFREF_BUILD_DIR", "")
        path = os.path.join(b, "bpe-vocabs", "ggml-vocab-llama-bpe.gguf")
        if not os.path.exists(path):
            pytest.fail(f"{path} is missing: the ctest fixture bpe_vocabs converts it from the npm package "
                        "tools/deps.sh installs")
        return path
    path = os.path.join(os.environ.get("GGUFREF_SHARED_DIR", "../shared"), "material", "llama.cpp-vocab",
                        f"ggml-vocab-{name}.gguf")
    if not os.path.exists(path):
        pytest.skip("shared material llama.cpp-vocab/ absent (set GGUFREF_SHARED_DIR)")
    return path


@pytest.mark.parametrize("name,pre", [("llama-bpe", "llama-bpe"), ("gpt-2", "gpt-2")])
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT)
def test_round_trip(name, pre, text):
    """R-TOK-049: decode(encode(s)) == s for random Unicode."""
    data = text.encode("utf-8")
    _, ids, decoded = tool(pre, vocab_file(name)).run(data)
    assert decoded == data, f"{name}: {text!r} -> {ids}"
