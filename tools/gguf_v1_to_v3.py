#!/usr/bin/env python3
"""gguf_v1_to_v3.py IN OUT: rewrite a GGUF file as GGUF v3, tensors byte for byte.

GGUF v1 stores n_tensors, n_kv, string lengths, array counts and tensor dimensions as u32;
versions 2 and 3 store them as u64 (SPEC R-GGUF-005); nothing else differs for a little-endian
file. The converter reads every metadata pair and tensor info of IN (v1, v2 or v3), writes them
again with u64 counts and version 3 in the same order, pads to the file's alignment
(`general.alignment`, default 32), then copies IN's tensor data section verbatim: every tensor
keeps its offset relative to the data section, so its bytes are identical. Mainstream readers
(llama.cpp: "GGUFv1 is no longer supported") refuse v1; the project uses this to make a v3 copy
of llama2.c's stories260K at build time (golden/CMakeLists.txt), never committed.

Exit status 0 on success, 1 with a one-line message on a file it cannot read.
"""
import os
import struct
import sys

SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
GV_STRING, GV_ARRAY = 8, 9


class Bad(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.d, self.o, self.wide = data, 0, True

    def take(self, n):
        if self.o + n > len(self.d):
            raise Bad("file ends inside a field at byte %d" % self.o)
        b = self.d[self.o:self.o + n]
        self.o += n
        return b

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def count(self):
        return self.u64() if self.wide else self.u32()


def convert(data):
    r = Reader(data)
    if r.take(4) != b"GGUF":
        raise Bad("not a GGUF file (magic)")
    version = r.u32()
    if version not in (1, 2, 3):
        raise Bad("unsupported GGUF version %d" % version)
    r.wide = version != 1
    out = bytearray(b"GGUF" + struct.pack("<I", 3))
    n_tensors, n_kv = r.count(), r.count()
    out += struct.pack("<QQ", n_tensors, n_kv)

    def string():
        n = r.count()
        s = r.take(n)
        out.extend(struct.pack("<Q", n) + s)
        return s

    def value(t, depth=0):
        if t == GV_STRING:
            return string()
        if t == GV_ARRAY:
            if depth > 0:
                raise Bad("nested array at byte %d" % r.o)
            et = r.u32()
            n = r.count()
            out.extend(struct.pack("<IQ", et, n))
            if et in SCALAR:  # copy the elements in one piece
                out.extend(r.take(SCALAR[et] * n))
                return None
            for _ in range(n):
                value(et, depth + 1)
            return None
        if t not in SCALAR:
            raise Bad("value type %d at byte %d" % (t, r.o))
        b = r.take(SCALAR[t])
        out.extend(b)
        return b

    alignment = 32
    for _ in range(n_kv):
        key = string()
        t = r.u32()
        out.extend(struct.pack("<I", t))
        v = value(t)
        if key == b"general.alignment" and t == 4:
            alignment = struct.unpack("<I", v)[0]
    if alignment == 0 or alignment & (alignment - 1):
        raise Bad("general.alignment %d is not a power of two" % alignment)
    for _ in range(n_tensors):
        string()
        n_dims = r.u32()
        out.extend(struct.pack("<I", n_dims))
        for _ in range(n_dims):
            out.extend(struct.pack("<Q", r.count()))
        out.extend(r.take(4 + 8))  # type, offset (u64 in every version)
    data_in = (r.o + alignment - 1) // alignment * alignment
    if data_in > len(data):
        raise Bad("file ends before its tensor data")
    out.extend(bytes((-len(out)) % alignment))
    out.extend(data[data_in:])
    return bytes(out)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: gguf_v1_to_v3.py IN OUT\n")
        return 2
    try:
        with open(argv[1], "rb") as f:
            data = f.read()
        res = convert(data)
    except (OSError, Bad) as e:
        sys.stderr.write("gguf_v1_to_v3: %s: %s\n" % (argv[1], e))
        return 1
    tmp = argv[2] + ".tmp"
    with open(tmp, "wb") as f:
        f.write(res)
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
