#!/usr/bin/python3
"""The reference library's symbols: nothing nondeterministic or noisy is imported, and no
mutable global state exists outside the export layer and the fault hooks.

    /usr/bin/python3 tools/lib_symbols.py NM LIBRARY.a...

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
    SPEC R-RT-001, runtimes in one process are independent.
Exit status 2 when nm cannot be run. Stdlib only.
"""
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
INSTRUMENTATION = re.compile(r"^_*(gcov|asan|tsan|ubsan|msan|sancov|llvm|prof[cdnvb]_|unnamed_)")
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


def main(argv):
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
        print("lib_symbols: %s: %d imports and %d writable globals checked"
              % (lib, len(syms), len(state)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
