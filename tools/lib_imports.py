#!/usr/bin/python3
"""The reference library imports nothing that would make it nondeterministic or noisy.

    /usr/bin/python3 tools/lib_imports.py NM LIBRARY.a...

Lists the undefined symbols of each static library (`NM -u`) and fails (exit status 1, each
offending symbol named with the object that imports it) on
  - a clock or entropy source (SPEC R-RNG-004: the library never reads a clock or OS entropy);
  - a libm function other than sqrt (SPEC R-NUM-001: the correctly rounded square root is the
    only libm function the reference uses; exp, sin, cos and pow are its own, R-NUM-030..032);
  - printing to a stream or ending the process (library code never prints or exits; `assert`
    for proven invariants stays allowed).
Exit status 2 when nm cannot be run. Stdlib only.
"""
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
            print("lib_imports: %s: %s" % (lib, e), file=sys.stderr)
            return 2
        for why, names in FORBIDDEN.items():
            for sym in sorted(set(syms) & names):
                print("FAIL %s imports %s: %s (from %s)" % (lib, sym, why, ", ".join(syms[sym])))
                bad += 1
        print("lib_imports: %s: %d undefined symbols checked" % (lib, len(syms)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
