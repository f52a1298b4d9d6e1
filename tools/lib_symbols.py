#!/usr/bin/python3
"""The reference library's symbols: nothing nondeterministic or noisy is imported, no
mutable global state exists outside the export layer and the fault hooks, and every file calls
and includes only downward, in the pipeline order of LAYERS.

    /usr/bin/python3 tools/lib_symbols.py NM LIBRARY.a...
    /usr/bin/python3 tools/lib_symbols.py --selftest   (the call check on a canned library)

Reads each static library with `NM -u` (undefined symbols) and `NM -f sysv` (sections), and
fails (exit status 1, each offending symbol named with its object) on
  - an import of a clock or entropy source (SPEC R-RNG-004: the library never reads a clock
    or OS entropy);
  - an import of a libm function other than sqrt (SPEC R-NUM-001: the correctly rounded square
    root is the only libm function the reference uses; exp, sin, cos and pow are its own,
    R-NUM-030..032);
  - an import that prints to a stream or ends the process (library code never prints or exits;
    `assert` for proven invariants stays allowed);
  - a writable global (.bss, .data, thread-local) in any object but exports.c (the export
    layer's lock and runtime, R-EXP-001), alloc.c and fault.c (the fault hooks, chapter 11):
    SPEC R-RT-001, runtimes in one process are independent;
  - a call that does not go down the pipeline (ARCHITECTURE.md): an object of the library that
    uses a symbol defined by an object of its own layer or of a layer above it (two files that
    call each other always include one such call), or an object not placed in LAYERS;
  - an `#include "x.h"` in reference/src whose header belongs to a layer above the includer's
    (the include graph is then a DAG in pipeline order), or a header not placed in LAYERS.
Exit status 2 when nm cannot be run. Stdlib only.
"""
import os
import re
import subprocess
import sys

FORBIDDEN = {
    "a clock or entropy source (R-RNG-004)": {
        "time", "clock", "clock_gettime", "gettimeofday", "timespec_get", "ftime", "times",
        "getrandom", "getentropy", "rand", "rand_r", "random", "srand", "srandom", "drand48",
        "erand48", "lrand48", "mrand48", "arc4random", "arc4random_buf"},
    "a libm function other than sqrt (R-NUM-001)": {
        name + suffix for suffix in ("", "f", "l") for name in (
            "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "pow", "sin", "cos", "tan",
            "sincos", "asin", "acos", "atan", "atan2", "sinh", "cosh", "tanh", "erf", "erfc",
            "fma", "cbrt", "hypot", "lgamma", "tgamma", "ldexp", "frexp", "scalbn")},
    "printing or ending the process (library code never prints or exits)": {
        "printf", "fprintf", "vprintf", "vfprintf", "dprintf", "puts", "fputs", "putchar",
        "putc", "fputc", "fwrite", "perror", "exit", "_exit", "_Exit", "quick_exit", "abort"},
}


def undefined_symbols(nm, lib):
    """{symbol: [objects importing it]} of a static library."""
    out = subprocess.run([nm, "-u", lib], check=True, capture_output=True, text=True).stdout
    found, obj = {}, "?"
    for line in out.splitlines():
        line = line.strip()
        if line.endswith(":"):
            obj = line[:-1]
        elif line.startswith("U "):
            sym = line[2:].split("@")[0]
            found.setdefault(sym, []).append(obj)
    return found


# Objects allowed to hold mutable process-global state (R-RT-001, R-EXP-001).
GLOBAL_STATE_OBJECTS = {"exports.c.o", "alloc.c.o", "fault.c.o"}
# Counters and metadata the compiler adds for coverage and sanitizer builds.
INSTRUMENTATION = re.compile(r"^_*(gcov|asan|odr_asan|tsan|ubsan|msan|sancov|llvm|prof[cdnvb]_|unnamed_)")
WRITABLE_SECTIONS = re.compile(r"^\.(bss|data|tbss|tdata)(\.(?!rel\.ro)\S*)?$")


def writable_globals(nm, lib):
    """[(object, symbol, section)] of the variables in writable sections."""
    out = subprocess.run([nm, "-f", "sysv", lib], check=True, capture_output=True,
                         text=True).stdout
    found, obj = [], "?"
    for line in out.splitlines():
        m = re.match(r"^Symbols from .*\[(.+)\]:$", line)
        if m:
            obj = m.group(1)
            continue
        cols = [c.strip() for c in line.split("|")]
        if (len(cols) >= 7 and WRITABLE_SECTIONS.match(cols[6]) and cols[3] == "OBJECT"
                and not INSTRUMENTATION.match(cols[0])):
            found.append((obj, cols[0], cols[6]))
    return found


# The pipeline, bottom first (ARCHITECTURE.md). A file calls (and includes headers of) only
# files of lower layers; files of one layer are independent of each other. A new file of
# reference/src goes into the layer it belongs to; the check fails until it is placed.
LAYERS = [
    ("base", ["alloc.c", "fault.c", "status.c", "hash.c", "text.c", "types.c", "mathx.c",
              "rng.c", "internal.h", "fault.h", "hash.h", "text.h", "mathx.h", "simd.h",
              "unicode_table.c", "unicode.h"]),
    ("threads", ["threads.c", "threads.h"]),
    ("unicode", ["unicode.c"]),
    ("pre-tokenizers", ["pretok.c", "pretok.h"]),
    ("gguf", ["gguf.c", "gguf.h", "cursor.h"]),
    ("bpe", ["bpe.c", "bpe.h"]),
    ("tokenizer", ["tokenizer.c", "tokenizer.h"]),
    ("decoders", ["quant.c", "quant.h"]),
    # the x86 vector kernels (AVX2, AVX-512), below the dispatch of kernels.c that picks them
    ("x86 kernels", ["kernels_avx2.c", "kernels_avx2.h", "kernels_avx512.c", "kernels_avx512.h"]),
    # kernels_wasm: the SIMD128 row kernels of kernels.c (wasm32 builds only), one unit with it
    ("kernels", ["kernels.c", "kernels.h", "kernels_wasm.c", "kernels_wasm.h"]),
    ("model", ["model.c", "model.h"]),
    ("forward", ["forward.c"]),
    ("sampler", ["sampler.c", "sampler.h"]),
    # the runtime object's layout (runtime.h) is read by the diagnostics writer below it
    ("diagnostics", ["diagnostics.c", "runtime.h"]),
    ("runtime", ["runtime.c"]),
    ("pool", ["pool.c"]),
    ("exports", ["exports.c", "wasi_pthread.h"]),
]
LAYER_OF = {name: i for i, (_, names) in enumerate(LAYERS) for name in names}
SRC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference", "src")


def object_symbols(nm, lib):
    """({symbol: defining object}, {object: set of undefined symbols}) of a static library."""
    out = subprocess.run([nm, "-A", lib], check=True, capture_output=True, text=True).stdout
    return parse_nm_a(out)


def parse_nm_a(out):
    """object_symbols of the text of `nm -A`."""
    defined, undefined = {}, {}
    for line in out.splitlines():
        m = re.match(r"^[^:]*:([^:]+):\s*(?:[0-9a-fA-F]+)?\s+([A-Za-z])\s+(\S+)$", line)
        if not m:
            continue
        obj, kind, sym = m.groups()
        sym = sym.split("@")[0]
        if kind == "U":
            undefined.setdefault(obj, set()).add(sym)
        elif kind.isupper() and kind not in "VW":
            defined[sym] = obj
        undefined.setdefault(obj, set())
    return defined, undefined


def source_of(obj):
    """'model.c' of 'model.c.o' (CMake) or 'model.o'."""
    base = obj[:-2] if obj.endswith(".o") else obj
    return base if base.endswith(".c") else base + ".c"


def call_problems(nm, lib, nm_text=None):
    """[message] for every call of the library that does not go down LAYERS."""
    defined, undefined = object_symbols(nm, lib) if nm_text is None else parse_nm_a(nm_text)
    problems = []
    for obj in sorted(undefined):
        src = source_of(obj)
        if src not in LAYER_OF:
            problems.append("%s is not placed in the pipeline (tools/lib_symbols.py LAYERS)"
                            % src)
            continue
        calls = {}
        for sym in undefined[obj]:
            callee = defined.get(sym)
            if callee is not None and callee != obj:
                calls.setdefault(source_of(callee), []).append(sym)
        for callee, syms in sorted(calls.items()):
            if callee in LAYER_OF and LAYER_OF[callee] < LAYER_OF[src]:
                continue
            if callee not in LAYER_OF:
                continue  # reported as unplaced when its own object is looked at
            where = "its own layer" if LAYER_OF[callee] == LAYER_OF[src] else "a layer above"
            problems.append("%s (%s) calls %s (%s, %s): %s" % (
                src, LAYERS[LAYER_OF[src]][0], callee, LAYERS[LAYER_OF[callee]][0], where,
                ", ".join(sorted(syms))))
    return problems


def include_problems(src_dir):
    """[message] for every include in src_dir that goes up LAYERS or names an unplaced header."""
    problems = []
    for name in sorted(os.listdir(src_dir)):
        if not name.endswith((".c", ".h")):
            continue
        if name not in LAYER_OF:
            problems.append("%s is not placed in the pipeline (tools/lib_symbols.py LAYERS)"
                            % name)
            continue
        with open(os.path.join(src_dir, name), encoding="utf-8") as f:
            text = f.read()
        for header in re.findall(r'^\s*#\s*include\s+"([^"]+)"', text, re.M):
            if header == "ggufref.h":
                continue  # the public header, below everything
            if header not in LAYER_OF:
                problems.append("%s includes %s, which is not placed in the pipeline"
                                % (name, header))
            elif LAYER_OF[header] > LAYER_OF[name]:
                problems.append("%s (%s) includes %s of the layer above (%s)" % (
                    name, LAYERS[LAYER_OF[name]][0], header, LAYERS[LAYER_OF[header]][0]))
    return problems


# `nm -A` of a library where the tokenizer calls back into the model, the runtime and the
# diagnostics call each other, a file is unplaced, and the model calls down (allowed).
SELFTEST_NM = """\
lib.a:tokenizer.c.o:0000000000000010 T gr_tokenizer_init
lib.a:tokenizer.c.o:                 U gr_model_tokenizer
lib.a:model.c.o:0000000000000020 T gr_model_tokenizer
lib.a:model.c.o:                 U gr_tokenizer_init
lib.a:runtime.c.o:0000000000000030 T ggufref_state_name
lib.a:runtime.c.o:                 U gr_diagnostics_write
lib.a:diagnostics.c.o:0000000000000040 T gr_diagnostics_write
lib.a:diagnostics.c.o:                 U ggufref_state_name
lib.a:stray.c.o:                 U gr_fail
lib.a:status.c.o:0000000000000050 T gr_fail
"""


def selftest():
    """The call check on SELFTEST_NM: exactly the upward calls and the unplaced file fail."""
    got = sorted(call_problems(None, None, SELFTEST_NM))
    want = [("diagnostics.c", "runtime.c"), ("stray.c", None), ("tokenizer.c", "model.c")]
    ok = len(got) == len(want) and all(
        g.startswith(caller) and (callee is None and "not placed" in g or
                                  callee is not None and " calls %s " % callee in g)
        for g, (caller, callee) in zip(got, want))
    for line in got:
        print("selftest: " + line)
    print("lib_symbols selftest: %s" % ("ok" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv):
    if len(argv) == 2 and argv[1] == "--selftest":
        return selftest()
    if len(argv) < 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    nm, libs = argv[1], argv[2:]
    bad = 0
    for lib in libs:
        try:
            syms = undefined_symbols(nm, lib)
        except (OSError, subprocess.CalledProcessError) as e:
            print("lib_symbols: %s: %s" % (lib, e), file=sys.stderr)
            return 2
        for why, names in FORBIDDEN.items():
            for sym in sorted(set(syms) & names):
                print("FAIL %s imports %s: %s (from %s)" % (lib, sym, why, ", ".join(syms[sym])))
                bad += 1
        try:
            state = writable_globals(nm, lib)
        except (OSError, subprocess.CalledProcessError) as e:
            print("lib_symbols: %s: %s" % (lib, e), file=sys.stderr)
            return 2
        for obj, sym, section in state:
            if obj not in GLOBAL_STATE_OBJECTS:
                print("FAIL %s: %s holds the writable global %s (%s): mutable state outside "
                      "the export layer and the fault hooks (R-RT-001, R-EXP-001)"
                      % (lib, obj, sym, section))
                bad += 1
        try:
            calls = call_problems(nm, lib)
        except (OSError, subprocess.CalledProcessError) as e:
            print("lib_symbols: %s: %s" % (lib, e), file=sys.stderr)
            return 2
        for problem in calls:
            print("FAIL %s: %s (each file calls only downward, ARCHITECTURE.md)" % (lib, problem))
            bad += 1
        print("lib_symbols: %s: %d imports, %d writable globals and the call graph checked"
              % (lib, len(syms), len(state)))
    includes = include_problems(SRC_DIR)
    for problem in includes:
        print("FAIL reference/src: %s (each file includes only downward, ARCHITECTURE.md)"
              % problem)
        bad += 1
    print("lib_symbols: reference/src: include graph checked")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
