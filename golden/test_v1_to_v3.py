#!/usr/bin/env python3
"""The project's GGUF v1 -> v3 converter (tools/gguf_v1_to_v3.py), checked three ways:

1. On the committed reader edge cases: converting edge-v1-f32-gqa-tied.gguf gives exactly the
   generator's v2 file of the same model except the version field (3, not 2) and the one
   character of general.name that names the version.
2. On llama2.c's stories260K (GGUF v1, ../shared/material; the v3 copy made at build time into
   <build>/fixtures): the copy is version 3, has the same metadata and the same tensors (name,
   type, shape) with byte-identical data.
3. Through the reference: `ggufref generate` gives the same output on the v1 file and its v3
   copy (greedy 64 tokens; temperature 1, top-p 0.9, seed 42).
Also: a file that is not GGUF, and a truncated one, are refused with exit status 1.

Usage: test_v1_to_v3.py SOURCE_DIR BUILD_DIR MATERIAL_DIR   (exit 77: material absent, parts 2-3
skipped; parts 1 and the refusals ran)
"""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from check_fixtures import parse  # noqa: E402  (the independent reader; v1 too)


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, timeout=120)


def tensor_bytes(data):
    kv, _, tensors, end = parse(data)
    kv.pop("<version>")
    alignment = kv.get("general.alignment", 32)
    start = (end + alignment - 1) // alignment * alignment
    out = {}
    for t in tensors:
        out[t["name"]] = (t["type"], t["ne"], t["offset"], start + t["offset"])
    return kv, out, start


def main(src, build, material):
    conv = os.path.join(src, "tools", "gguf_v1_to_v3.py")
    py = sys.executable
    tmp = tempfile.mkdtemp(prefix="v1v3-")
    edge = os.path.join(src, "golden", "models", "edge")
    # 1. edge-v1 -> v3 == edge-v2 but for the version and the name's digit
    out = os.path.join(tmp, "edge.v3.gguf")
    r = run(py, conv, os.path.join(edge, "edge-v1-f32-gqa-tied.gguf"), out)
    assert r.returncode == 0, r.stderr
    got = open(out, "rb").read()
    want = open(os.path.join(edge, "edge-v2-f32-gqa-tied.gguf"), "rb").read()
    assert len(got) == len(want), "size %d, v2 file %d" % (len(got), len(want))
    diff = [i for i in range(len(got)) if got[i] != want[i]]
    name_at = want.find(b"ggufref edge-v2") + len("ggufref edge-v")
    assert diff == [4, name_at], "differs from the v2 file at %r" % diff[:10]
    assert got[4] == 3 and got[name_at:name_at + 1] == b"1"
    print("ok    edge-v1 -> v3: the generator's v2 file but for the version and the name")
    # refusals
    for name, data in (("not-gguf", b"GGUX" + want[4:]), ("truncated", want[:200])):
        p = os.path.join(tmp, name + ".gguf")
        open(p, "wb").write(data)
        r = run(py, conv, p, os.path.join(tmp, name + ".out"))
        assert r.returncode == 1 and r.stderr.count(b"\n") == 1, (name, r.returncode, r.stderr)
        assert not os.path.exists(os.path.join(tmp, name + ".out")), name + ": output written"
    print("ok    a bad magic and a truncated file are refused, nothing written")

    v1 = os.path.join(material, "stories260K-f32.v1.gguf")
    v3 = os.path.join(build, "fixtures", "stories260K-f32.v3.gguf")
    if not os.path.isfile(v1):
        print("SKIP  stories260K: %s absent (set GGUFREF_SHARED_DIR)" % v1)
        return 77
    assert os.path.isfile(v3), v3 + " not built (target fixtures-stories260k-v3)"
    # 2. same metadata, same tensors, byte-identical data
    d1, d3 = open(v1, "rb").read(), open(v3, "rb").read()
    assert d1[4] == 1 and d3[4] == 3, "versions %d, %d" % (d1[4], d3[4])
    kv1, t1, s1 = tensor_bytes(d1)
    kv3, t3, s3 = tensor_bytes(d3)
    assert kv1 == kv3, "metadata differs"
    assert list(t1) == list(t3), "tensor names or order differ"
    for name in t1:
        a, b = t1[name], t3[name]
        assert a[:3] == b[:3], name + ": type, shape or offset differs"
    assert d1[s1:] == d3[s3:], "tensor data differs"
    print("ok    stories260K v3 copy: %d keys, %d tensors, %d data bytes identical"
          % (len(kv1), len(t1), len(d1) - s1))
    # 3. same output through the reference
    ggufref = os.path.join(build, "ggufref")
    for args in (["--prompt", "Once upon a time", "--max-tokens", "64", "--json"],
                 ["--prompt", "Lily", "--max-tokens", "64", "--temperature", "1",
                  "--top-p", "0.9", "--seed", "42"]):
        a = run(ggufref, "generate", "--model", v1, *args)
        b = run(ggufref, "generate", "--model", v3, *args)
        assert a.returncode == 0 and a.stdout, a.stderr
        assert a.stdout == b.stdout, "output differs on the v3 copy: %s" % " ".join(args)
    print("ok    the reference gives the same tokens on the v1 file and its v3 copy")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
