#!/usr/bin/python3
"""Self-test of tools/spec_trace.py: on a copy of the files it reads, a tree where every rule
is cited passes, and each seeded fault (a duplicate ID, a stale citation, an untested rule, a
renamed status, a changed transition, ...) fails with its category named.

    /usr/bin/python3 tools/spec_trace_selftest.py [--root DIR]

Exit status 0 when every case behaves, 1 with the failing cases listed. Stdlib only.
"""
import argparse
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import spec_trace  # noqa: E402

COPIED = ("SPEC.md", "reference/include/ggufref.h", "reference/src/status.c",
          "reference/src/runtime.c", "reference/src/fault.h", "reference/serve/server.c",
          "harness/ggufref_harness/spec.py", "conformance/transitions.tsv")
ID = "R-" + "%s-%03d"  # built here so that this file cites nothing itself


def make_tree(root, tmp):
    """Copy the files spec_trace reads into tmp and add one test citing every defined ID."""
    for rel in COPIED:
        os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
        shutil.copy(os.path.join(root, rel), os.path.join(tmp, rel))
    spec = spec_trace.Spec(os.path.join(tmp, "SPEC.md"), spec_trace.Problems())
    for line in spec.lines:  # the paths SPEC names, as empty placeholders
        for path in re.findall(r"`([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]*)`", line):
            full = os.path.join(tmp, path)
            if path.startswith("..") or os.path.exists(full):
                continue
            if path.endswith("/"):
                os.makedirs(full, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(full), exist_ok=True)
                open(full, "w").close()
    with open(os.path.join(tmp, "conformance/torture_all.c"), "w") as f:
        f.write("".join("/* %s */\n" % rid for rid in spec.defs))
    return spec


def spec_root(spec):
    return os.path.dirname(spec.path)


def edit(tmp, rel, old, new, count=1):
    path = os.path.join(tmp, rel)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if old not in text:
        raise AssertionError("%s: %r not found (the self-test needs updating)" % (rel, old))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, count))


def append(tmp, rel, text):
    path = os.path.join(tmp, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


def run(tmp, *extra):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = spec_trace.main(["--root", tmp, "-q"] + list(extra))
    return rc, out.getvalue()


def cases(spec):
    """(name, mutate(tmp), expected substring of the output); None: the run must pass."""
    last = list(spec.defs)[-1]
    # the rule a case un-cites: one that no copied file but SPEC.md mentions
    copied = "".join(open(os.path.join(spec_root(spec), rel), encoding="utf-8").read()
                     for rel in COPIED if rel != "SPEC.md")
    first = next(rid for rid in spec.defs if rid not in copied and rid[-3:] != "999")
    test = "conformance/torture_all.c"
    return [
        ("clean tree passes", lambda t: None, None),
        ("duplicate definition", lambda t: append(
            t, "SPEC.md", "\n- **%s** again.\n" % last), "duplicate definitions"),
        ("test cites an undefined ID", lambda t: append(
            t, test, "/* %s */\n" % (ID % ("GGUF", 999))), "bad citations in tests"),
        ("malformed ID in a test", lambda t: append(
            t, test, "/* R-" "GGUF-12 */\n"), "malformed ID"),
        ("range ending at an undefined ID", lambda t: append(
            t, test, "/* %s..999 */\n" % (ID % ("GGUF", 1))), "range end"),
        ("unknown wildcard prefix", lambda t: append(
            t, test, "/* R-" "NOPE-* */\n"), "no chapter has the prefix"),
        ("stale reference outside the tests", lambda t: append(
            t, "reference/src/extra.c", "/* %s */\n" % (ID % ("RT", 999))),
         "bad references in other files"),
        ("untested rule", lambda t: edit(t, test, "/* %s */\n" % first, ""),
         "untested rules"),
        ("citation outside the tests does not count", lambda t: (
            edit(t, test, "/* %s */\n" % first, ""),
            append(t, "reference/src/extra.c", "/* %s */\n" % first)), "untested rules"),
        ("support code is not a test", lambda t: (
            edit(t, test, "/* %s */\n" % first, ""),
            append(t, "conformance/support/helper.c", "/* %s */\n" % first)), "untested rules"),
        ("range-only citation warns", lambda t: (
            edit(t, test, "/* %s */\n" % first, ""),
            append(t, "conformance/torture_more.c", "/* %s..%s */\n" % (
                first, "%03d" % (int(first[-3:]) + 1)))), None),
        ("range-only citation fails with --strict-ranges", lambda t: (
            edit(t, test, "/* %s */\n" % first, ""),
            append(t, "conformance/torture_more.c", "/* %s..%s */\n" % (
                first, "%03d" % (int(first[-3:]) + 1)))),
         "cited only through a range"),
        ("SPEC cross-reference to an undefined ID", lambda t: append(
            t, "SPEC.md", "\nSee %s.\n" % (ID % ("TOK", 999))), "bad references in SPEC"),
        ("reference to a chapter that does not exist", lambda t: append(
            t, "SPEC.md", "\nSee chapter 42.\n"), "'chapter 42' does not exist"),
        ("status renamed in status.c", lambda t: edit(
            t, "reference/src/status.c", '"CANCELLED"', '"CANCELED"'), "status table"),
        ("status renumbered in SPEC", lambda t: edit(
            t, "SPEC.md", "| 21 | `CANCELLED`", "| 23 | `CANCELLED`"), "status table"),
        ("status missing from the enum", lambda t: edit(
            t, "reference/include/ggufref.h", "    GGUFREF_ERR_BAD_VALUE = 22,", ""),
         "status table"),
        ("harness status table differs", lambda t: edit(
            t, "harness/ggufref_harness/spec.py", '22: "BAD_VALUE"', '22: "BAD_VALUES"'),
         "status table"),
        ("state renamed in status.c", lambda t: edit(
            t, "reference/src/status.c", '"FREED"', '"RELEASED"'), "state names"),
        ("transitions.tsv row changed", lambda t: edit(
            t, "conformance/transitions.tsv", "FREED\tgenerate\t-\tMODEL_NOT_LOADED\tFREED",
            "FREED\tgenerate\t-\tINVALID_STATE\tFREED"), "transition table"),
        ("SPEC 7.1 cell changed", lambda t: edit(
            t, "SPEC.md", "| `reset_context` | oom-init: OOM → U<br>NOT_LOADED → I",
            "| `reset_context` | oom-init: OOM → U<br>NOT_LOADED → U"), "transition table"),
        ("panic point renamed in fault.h", lambda t: edit(
            t, "reference/src/fault.h", '"export.locked"', '"export.held"'), "panic point"),
        ("protocol command renamed in serve/server.c", lambda t: edit(
            t, "reference/serve/server.c", '{"fault-io", gr_cmd_', '{"fault-inout", gr_cmd_'),
         "command fault-io"),
        ("harness lists a fault command chapter 9 does not define", lambda t: edit(
            t, "harness/ggufref_harness/spec.py", '"fault-status": {}', '"fault-poison": {}'),
         "FAULT_COMMANDS lists fault-poison"),
        ("harness lacks a command of chapter 9", lambda t: edit(
            t, "harness/ggufref_harness/spec.py", '"cancel", "reset-context"',
            '"reset-context"'),
         "COMMANDS lacks cancel"),
        ("SPEC names a path that does not exist", lambda t: append(
            t, "SPEC.md", "\nSee `tools/no_such_tool.sh`.\n"), "does not exist"),
        ("panic row missing", lambda t: edit(
            t, "conformance/transitions.tsv", "FREED\tresult\tpanic\tGENERATION_FAILED\t"
            "POISONED\n", ""), "no panic row"),
    ]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(HERE))
    args = ap.parse_args(argv)
    failed = []
    with tempfile.TemporaryDirectory(prefix="spec_trace_selftest.") as base:
        spec = make_tree(args.root, os.path.join(base, "probe"))
        for i, (name, mutate, expect) in enumerate(cases(spec)):
            tmp = os.path.join(base, "case%02d" % i)
            make_tree(args.root, tmp)
            try:
                mutate(tmp)
            except AssertionError as e:
                failed.append("%s: %s" % (name, e))
                continue
            rc, out = run(tmp, *(["--strict-ranges"] if "strict" in name else []))
            ok = rc == 0 if expect is None else (rc == 1 and expect in out)
            print("%-4s %s" % ("ok" if ok else "FAIL", name))
            if not ok:
                failed.append("%s: exit %d, expected %s\n%s" % (
                    name, rc, "0" if expect is None else "1 naming '%s'" % expect, out))
    for f in failed:
        print("\nFAIL " + f)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
