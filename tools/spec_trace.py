#!/usr/bin/python3
"""Requirement traceability for SPEC.md: every rule is tested, every citation names a rule.

    /usr/bin/python3 tools/spec_trace.py [--root DIR] [--matrix FILE] [--strict-ranges] [-q]

What it reads
  SPEC.md     the defined IDs: a list item that opens with `- **R-<CHAPTER>-<NNN>**`, or a table
              row whose first cell is `**R-<CHAPTER>-<NNN>**` (no chapter does that today); the
              chapter list, the chapter headings, cross-references (`R-X-NNN`, `R-X-NNN/NNN`,
              `R-X-NNN..NNN`, `R-X-NNN to R-X-NNN`, `chapter N`), the status table of chapter 1,
              the states of R-RT-002 and the transition matrix of section 7.1.
  tests       the files that cite what they check (TEST_GLOBS below): cmocka suites, fuzz
              targets, golden fixture checks, the pytest harness, trace files, test scripts.
  other text  every other source and document (reference/, bench/, READMEs, ...): their
              references must name defined IDs too, but do not count as tests.
  code        reference/include/ggufref.h (status and state enums), reference/src/status.c
              (the status and state names), harness/ggufref_harness/spec.py (the harness's status
              table and command lists) and conformance/transitions.tsv (the state machine).

It fails (exit status 1, every problem listed) when
  - an ID is defined twice, or defined in a chapter that does not own its prefix;
  - an ID is malformed (not three digits) or names no defined rule, in a test, in SPEC (a
    cross-reference) or anywhere else in the tree;
  - a defined ID is cited by no test (with --strict-ranges, cited only through a range such
    as `R-TYPE-010..024`, which is otherwise listed as a warning);
  - the status table, the enum, status.c and the harness's table disagree; the states of
    R-RT-002, the enum, status.c and transitions.tsv disagree; section 7.1 and
    transitions.tsv disagree; the chapter list and the headings disagree, or the text refers
    to a chapter that does not exist; the panic points of R-FAULT-003 and fault.h, or the
    commands of chapter 9, serve/server.c and the harness's COMMANDS and FAULT_COMMANDS
    (spec.py), disagree; a path SPEC names does not exist.
Wildcards (`R-TOK-*`) name a chapter, not a rule: they are checked for a known prefix only.
Exit status 2: a file it needs is missing or unreadable.
"""
import argparse
import ast
import collections
import fnmatch
import json
import os
import re
import sys

# Files whose citations count as tests (paths relative to the root, fnmatch patterns; `*`
# does not stop at `/`). conformance/support/ holds helpers, fuzz/tools/ generators: not tests.
TEST_GLOBS = (
    "conformance/*.c", "conformance/*.tsv",
    "golden/*.c", "golden/*.py", "golden/traces/*.jsonl",
    "traces/*.jsonl",
    "harness/*.py", "harness/ggufref_harness/*.py", "harness/selftest/*.py",
    "fuzz/*.c",
    "tools/*.sh", "tools/golden_traces.py", "tools/lib_symbols.py",
)
NOT_TEST_GLOBS = ("conformance/support/*",)
# The harness's own library (the replayer, the wire client): its citations count, but a rule
# cited only there has no test that exercises it on its own; listed as a warning.
LIBRARY_GLOBS = ("harness/ggufref_harness/*.py",)
# Rules this checker itself verifies against the code (status table, states and transition
# table, panic points): it is a ctest, so it cites them.
CHECKED_HERE = ("R-STATUS-001", "R-RT-002", "R-FAULT-003")
# Every other file with one of these endings is scanned for stale references.
TEXT_ENDINGS = (".c", ".h", ".py", ".sh", ".md", ".tsv", ".txt", ".json", ".jsonl", ".cmake",
                "CMakeLists.txt", ".options", ".ini")
SKIP_DIRS = {".git", "__pycache__", "corpus", "node_modules"}
# This checker and its self-test show example and deliberately wrong IDs: not scanned.
SELF = ("tools/spec_trace.py", "tools/spec_trace_selftest.py")

ID_RE = re.compile(r"R-([A-Z]+)-(\d+|\*)")
DEF_ITEM_RE = re.compile(r"^- \*\*(R-[A-Z]+-\d+)\*\*")
DEF_ROW_RE = re.compile(r"^\|\s*\*\*(R-[A-Z]+-\d+)\*\*\s*\|")
HEADING_RE = re.compile(r"^## (\d+)\. (.+?)\s*$")
CHAPTER_LIST_RE = re.compile(r"^(\d+)\. (.+?) \(((?:`R-[A-Z]+`(?:, )?)+)\)\s*$")
CHAPTER_REF_RE = re.compile(r"\b[Cc]hapters? (\d+)((?:(?:, | and | or |-|\.\.)\d+)*)")

Cite = collections.namedtuple("Cite", "rid path line kind")  # kind: direct | range


class Problems:
    """Collects failures by category, in the order found."""

    def __init__(self):
        self.by_cat = collections.OrderedDict()
        self.warnings = collections.OrderedDict()

    def add(self, cat, msg):
        self.by_cat.setdefault(cat, []).append(msg)

    def warn(self, cat, msg):
        self.warnings.setdefault(cat, []).append(msg)

    def count(self):
        return sum(len(v) for v in self.by_cat.values())


def read_text(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


# ---------------------------------------------------------------------------------------------
# Citations: one scanner for SPEC cross-references, tests and every other file.
# ---------------------------------------------------------------------------------------------

def scan_ids(text):
    """Yield (prefix, number or '*', kind, lineno, raw) for every ID mention in text.

    `R-X-010/011/012` yields three direct mentions; `R-X-010..014` and `R-X-010 to R-X-014`
    yield one range mention per number (kind 'range'; the caller keeps the defined ones);
    `R-X-*` yields one wildcard. A number that is not three digits yields kind 'malformed'."""
    for lineno, line in enumerate(text.split("\n"), 1):
        pos = 0
        while True:
            m = ID_RE.search(line, pos)
            if not m:
                break
            if m.start() > 0 and (line[m.start() - 1].isalnum() or line[m.start() - 1] == "-"):
                pos = m.end()
                continue
            prefix, num = m.group(1), m.group(2)
            end = m.end()
            raw = m.group(0)
            if num == "*":
                yield prefix, "*", "wildcard", lineno, raw
                pos = end
                continue
            if len(num) != 3:
                yield prefix, num, "malformed", lineno, raw
                pos = end
                continue
            rest = line[end:]
            rng = re.match(r"(?:\.\.|–| to R-%s-)(\d+)" % prefix, rest)
            if rng and len(rng.group(1)) == 3 and int(rng.group(1)) > int(num):
                raw += rng.group(0)
                for n in range(int(num), int(rng.group(1)) + 1):
                    yield prefix, "%03d" % n, "range", lineno, raw
                pos = end + rng.end()
                continue
            yield prefix, num, "direct", lineno, raw
            pos = end
            while True:  # slash lists: R-X-010/011
                sl = re.match(r"/(\d+)\b", line[pos:])
                if not sl:
                    break
                if len(sl.group(1)) != 3:
                    yield prefix, sl.group(1), "malformed", lineno, raw + sl.group(0)
                else:
                    yield prefix, sl.group(1), "direct", lineno, raw + sl.group(0)
                pos += sl.end()


def range_ends(raw):
    """('010', '024') of a range mention such as 'R-TYPE-010..024' or 'R-X-005 to R-X-009'."""
    nums = re.findall(r"\d{3}", raw)
    return nums[0], nums[-1]


# ---------------------------------------------------------------------------------------------
# SPEC.md
# ---------------------------------------------------------------------------------------------

class Spec:
    def __init__(self, path, problems):
        self.path = path
        self.text = read_text(path)
        self.lines = self.text.split("\n")
        self.defs = collections.OrderedDict()  # id -> (line, chapter number)
        self.chapters = collections.OrderedDict()  # number -> title (headings)
        self.listed = collections.OrderedDict()  # number -> (title, [prefixes]) (chapter list)
        self.prefix_chapter = {}
        self._parse(problems)

    def _parse(self, problems):
        chapter = 0
        for i, line in enumerate(self.lines, 1):
            h = HEADING_RE.match(line)
            if h:
                chapter = int(h.group(1))
                self.chapters[chapter] = h.group(2)
                continue
            if chapter == 0:
                c = CHAPTER_LIST_RE.match(line)
                if c:
                    prefixes = re.findall(r"`R-([A-Z]+)`", c.group(3))
                    self.listed[int(c.group(1))] = (c.group(2), prefixes)
                    for p in prefixes:
                        self.prefix_chapter[p] = int(c.group(1))
            d = DEF_ITEM_RE.match(line) or DEF_ROW_RE.match(line)
            if d:
                rid = d.group(1)
                if rid in self.defs:
                    problems.add("duplicate definitions", "%s defined at SPEC.md:%d and :%d"
                                 % (rid, self.defs[rid][0], i))
                else:
                    self.defs[rid] = (i, chapter)

    def chapter_lines(self, number):
        """The lines of chapter `number` (between its heading and the next `## `)."""
        out, inside = [], False
        for line in self.lines:
            if line.startswith("## "):
                inside = line.startswith("## %d. " % number)
                continue
            if inside:
                out.append(line)
        return out

    def rule_text(self, rid):
        """The text of one rule: its list item up to the next item, heading or blank line."""
        start = self.defs[rid][0] - 1
        out = [self.lines[start]]
        for line in self.lines[start + 1:]:
            if not line.startswith("  ") or not line.strip():
                break
            out.append(line)
        return " ".join(s.strip() for s in out)


def check_spec_structure(spec, problems):
    """Chapter list vs headings, prefixes vs chapters, chapter references, cross-references."""
    if list(spec.listed) != list(spec.chapters):
        problems.add("chapters", "chapter list %s != headings %s"
                     % (list(spec.listed), list(spec.chapters)))
    for n, (title, _) in spec.listed.items():
        if n in spec.chapters and spec.chapters[n] != title:
            problems.add("chapters", "chapter %d is '%s' in the list, '%s' in its heading"
                         % (n, title, spec.chapters[n]))
    for rid, (line, chapter) in spec.defs.items():
        prefix = rid.split("-")[1]
        owner = spec.prefix_chapter.get(prefix)
        if owner is None:
            problems.add("chapters", "SPEC.md:%d: %s has a prefix no chapter lists" % (line, rid))
        elif owner != chapter:
            problems.add("chapters", "SPEC.md:%d: %s is defined in chapter %d, its prefix "
                         "belongs to chapter %d" % (line, rid, chapter, owner))
    for i, line in enumerate(spec.lines, 1):
        for m in CHAPTER_REF_RE.finditer(line):
            nums = [int(m.group(1))] + [int(x) for x in re.findall(r"\d+", m.group(2))]
            for n in nums:
                if n not in spec.chapters:
                    problems.add("chapters", "SPEC.md:%d: 'chapter %d' does not exist" % (i, n))
    for prefix, num, kind, lineno, raw in scan_ids(spec.text):
        rid = "R-%s-%s" % (prefix, num)
        if kind == "malformed":
            problems.add("bad references in SPEC", "SPEC.md:%d: malformed ID %s" % (lineno, raw))
        elif kind == "wildcard":
            if prefix not in spec.prefix_chapter:
                problems.add("bad references in SPEC", "SPEC.md:%d: %s: unknown prefix"
                             % (lineno, raw))
        elif kind == "direct" and rid not in spec.defs:
            problems.add("bad references in SPEC", "SPEC.md:%d: %s is not defined" % (lineno, raw))
        elif kind == "range" and num in range_ends(raw) and rid not in spec.defs:
            problems.add("bad references in SPEC", "SPEC.md:%d: range end %s (in %s) is not "
                         "defined" % (lineno, rid, raw))


# ---------------------------------------------------------------------------------------------
# The tree: tests and everything else
# ---------------------------------------------------------------------------------------------

def is_test(rel):
    if any(fnmatch.fnmatch(rel, g) for g in NOT_TEST_GLOBS):
        return False
    return any(fnmatch.fnmatch(rel, g) for g in TEST_GLOBS)


def walk_tree(root):
    """Relative paths of the text files of the tree (build folders and corpora skipped)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                             and not (rel_dir == "." and d.startswith("build")))
        for name in sorted(filenames):
            if name.endswith(TEXT_ENDINGS):
                rel = os.path.normpath(os.path.join(rel_dir, name))
                if rel != "SPEC.md" and rel not in SELF:
                    out.append(rel)
    return out


def scan_tree(root, spec, problems):
    """Citations by defined ID from the tests; stale or malformed references anywhere."""
    cites = collections.defaultdict(list)
    n_tests = 0
    for rel in walk_tree(root):
        test = is_test(rel)
        n_tests += test
        cat = "bad citations in tests" if test else "bad references in other files"
        for prefix, num, kind, lineno, raw in scan_ids(read_text(os.path.join(root, rel))):
            rid = "R-%s-%s" % (prefix, num)
            where = "%s:%d" % (rel, lineno)
            if kind == "malformed":
                problems.add(cat, "%s: malformed ID %s" % (where, raw))
            elif kind == "wildcard":
                if prefix not in spec.prefix_chapter:
                    problems.add(cat, "%s: %s: no chapter has the prefix R-%s"
                                 % (where, raw, prefix))
            elif kind == "range":
                if num in range_ends(raw) and rid not in spec.defs:
                    problems.add(cat, "%s: range end %s (in %s) is not defined"
                                 % (where, rid, raw))
                elif test and rid in spec.defs:
                    cites[rid].append(Cite(rid, rel, lineno, "range"))
            elif rid not in spec.defs:
                problems.add(cat, "%s: %s is not defined in SPEC.md" % (where, rid))
            elif test:
                cites[rid].append(Cite(rid, rel, lineno, "direct"))
    for rid in CHECKED_HERE:
        if rid in spec.defs:
            cites[rid].append(Cite(rid, SELF[0], 0, "direct"))
    return cites, n_tests


# ---------------------------------------------------------------------------------------------
# Code vs SPEC: statuses, states, the transition table
# ---------------------------------------------------------------------------------------------

def parse_c_enum(header_text, enum_name):
    """{constant: value} of `typedef enum enum_name { ... }` (explicit values only)."""
    m = re.search(r"typedef enum %s \{(.*?)\}" % enum_name, header_text, re.S)
    if not m:
        return None
    body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
    return {k: int(v, 0) for k, v in re.findall(r"\b([A-Z_][A-Z0-9_]*)\s*=\s*(\w+)", body)}


def parse_c_names(src_text, array_name):
    """{constant: name} of a designated-initializer string table `[CONST] = "NAME"`."""
    m = re.search(r"%s\s*\[[^\]]*\]\s*=\s*\{(.*?)\};" % array_name, src_text, re.S)
    if not m:
        return None
    return dict(re.findall(r"\[\s*([A-Z_][A-Z0-9_]*)\s*\]\s*=\s*\"([^\"]*)\"", m.group(1)))


def compare_tables(problems, cat, tables):
    """tables: [(label, {number: name})]; every table must equal the first."""
    ref_label, ref = tables[0]
    for label, table in tables[1:]:
        if table is None:
            problems.add(cat, "%s: not found" % label)
            continue
        for n in sorted(set(ref) | set(table)):
            a, b = ref.get(n), table.get(n)
            if a != b:
                problems.add(cat, "%d: %s says %s, %s says %s" % (n, ref_label, a or "(none)",
                                                                  label, b or "(none)"))


def check_statuses(root, spec, problems):
    """Chapter 1's table vs the ggufref_status enum, status.c and the harness's table."""
    cat = "status table"
    table = {}
    for line in spec.chapter_lines(1):
        m = re.match(r"^\|\s*(\d+)\s*\|\s*`([A-Z_]+)`\s*\|", line)
        if m:
            table[int(m.group(1))] = m.group(2)
    if not table:
        problems.add(cat, "SPEC.md chapter 1 has no status table")
        return
    if sorted(table) != list(range(len(table))):
        problems.add(cat, "SPEC.md numbers are not 0..%d without gaps" % (len(table) - 1))
    header = read_text(os.path.join(root, "reference/include/ggufref.h"))
    enum = parse_c_enum(header, "ggufref_status")
    names = parse_c_names(read_text(os.path.join(root, "reference/src/status.c")), "names")
    if enum is None or names is None:
        problems.add(cat, "ggufref_status enum or status.c name table not found")
        return
    by_num = {}
    for const, value in enum.items():
        if value in by_num:
            problems.add(cat, "ggufref.h: %s and %s are both %d" % (by_num[value], const, value))
        by_num[value] = const
    for const in enum:
        if const not in names:
            problems.add(cat, "status.c has no name for %s" % const)
    for const in names:
        if const not in enum:
            problems.add(cat, "status.c names %s, which ggufref.h does not define" % const)
    status_c = {v: names.get(c) for v, c in by_num.items()}
    enum_table = {}
    for value, const in by_num.items():  # GGUFREF_ERR_IO -> IO: the suffix must be in the name
        suffix = re.sub(r"^GGUFREF_(ERR_)?", "", const)
        want = table.get(value, "")
        enum_table[value] = want if suffix and suffix in want else const
    tables = [("SPEC.md", table), ("ggufref.h", enum_table), ("status.c", status_c)]
    spec_py = os.path.join(root, "harness/ggufref_harness/spec.py")
    if os.path.exists(spec_py):
        m = re.search(r"^STATUS = \{(.*?)^\}", read_text(spec_py), re.S | re.M)
        tables.append(("harness spec.py", {int(k): v for k, v in re.findall(
            r"(\d+):\s*\"([A-Z_]+)\"", m.group(1))} if m else None))
    compare_tables(problems, cat, tables)
    return table


def check_states(root, spec, problems):
    """R-RT-002's states vs the ggufref_state enum, status.c's names and transitions.tsv."""
    cat = "state names"
    if "R-RT-002" not in spec.defs:
        problems.add(cat, "R-RT-002 (the states) is not defined")
        return
    listed = re.findall(r"`([A-Z_]+)` \(", spec.rule_text("R-RT-002"))
    enum = parse_c_enum(read_text(os.path.join(root, "reference/include/ggufref.h")),
                        "ggufref_state")
    names = parse_c_names(read_text(os.path.join(root, "reference/src/status.c")),
                          "state_names")
    if not enum or names is None:
        problems.add(cat, "ggufref_state enum or status.c state_names not found")
        return
    enum_table = {v: c[len("GGUFREF_STATE_"):] for c, v in enum.items()}
    compare_tables(problems, cat, [
        ("SPEC R-RT-002", dict(enumerate(listed))), ("ggufref.h", enum_table),
        ("status.c", {enum[c]: n for c, n in names.items() if c in enum})])
    tsv_states = set()
    for row in read_tsv(root):
        tsv_states.update((row[0], row[4]))
    for s in sorted(tsv_states - set(listed)):
        problems.add(cat, "transitions.tsv uses state %s, which R-RT-002 does not list" % s)
    for s in sorted(set(listed) - tsv_states):
        problems.add(cat, "state %s of R-RT-002 has no row in transitions.tsv" % s)


def read_tsv(root):
    rows = []
    for line in read_text(os.path.join(root, "conformance/transitions.tsv")).split("\n"):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if cols[0] != "state" and len(cols) == 5:
            rows.append(tuple(cols))
    return rows


ABBREV = {"OOM": "OUT_OF_MEMORY", "INVALID_ARG": "INVALID_ARGUMENT",
          "NOT_LOADED": "MODEL_NOT_LOADED", "CTX_OVERFLOW": "CONTEXT_OVERFLOW",
          "GEN_FAILED": "GENERATION_FAILED"}


def check_transition_matrix(root, spec, problems):
    """Section 7.1's matrix vs transitions.tsv (without the panic rows and POISONED, which
    the section states in prose)."""
    cat = "transition table (SPEC 7.1 vs transitions.tsv)"
    states = ("UNINITIALIZED", "INITIALIZED", "READY", "CONTINUATION_READY",
              "RECOVERABLE_ERROR", "FREED", "POISONED")
    section = "\n".join(spec.chapter_lines(7))
    section = section[section.find("### 7.1"):]
    letters = {a: b for a, b in re.findall(r"\b([A-Z]) `([A-Z_]+)`", section) if b in states}
    ops, matrix = [], set()
    for line in section.split("\n"):
        if line.startswith("| operation |"):
            ops = [c.strip() for c in line.strip("|").split("|")][1:]
            continue
        row = re.match(r"^\| `([a-z_]+)` \|(.*)\|\s*$", line)
        if not row or not ops:
            continue
        cells = [c.strip() for c in row.group(2).split("|")]
        for letter, cell in zip(ops, cells):
            for part in cell.split("<br>"):
                p = re.match(r"^(?:([a-z+-]+): )?([A-Z_]+) → ([A-Z])$", part.strip())
                if not p:
                    problems.add(cat, "SPEC 7.1: cannot read cell '%s'" % part)
                    continue
                status = ABBREV.get(p.group(2), p.group(2))
                matrix.add((letters.get(letter, letter), row.group(1), p.group(1) or "-",
                            status, letters.get(p.group(3), p.group(3))))
    if not matrix:
        problems.add(cat, "SPEC 7.1 has no matrix")
        return
    tsv = {r for r in read_tsv(root) if r[2] != "panic" and r[0] != "POISONED"}
    for r in sorted(tsv - matrix):
        problems.add(cat, "transitions.tsv row %s is not in SPEC 7.1" % "\t".join(r))
    for r in sorted(matrix - tsv):
        problems.add(cat, "SPEC 7.1 cell %s is not in transitions.tsv" % "\t".join(r))
    ops_tsv = {r[1] for r in read_tsv(root)}
    panic = {(r[0], r[1]) for r in read_tsv(root) if r[2] == "panic"}
    for state in set(letters.values()) - {"POISONED"}:
        for op in ops_tsv - {"cancel"}:
            if (state, op) not in panic:
                problems.add(cat, "transitions.tsv: no panic row for %s %s (SPEC 7.1: every "
                             "operation but cancel)" % (state, op))
    poisoned = {(r[1], r[3], r[4]) for r in read_tsv(root) if r[0] == "POISONED"}
    for op in ops_tsv:
        if (op, "GENERATION_FAILED", "POISONED") not in poisoned:
            problems.add(cat, "transitions.tsv: POISONED %s is not GENERATION_FAILED -> "
                         "POISONED (SPEC 7.1)" % op)


def check_names(root, spec, problems):
    """Lists the SPEC spells out that code also spells out: the panic points of R-FAULT-003
    (reference/src/fault.h), the protocol commands of chapter 9 (reference/serve/server.c), and
    every repository path the text names in backticks."""
    cat = "names (SPEC vs code)"
    if "R-FAULT-003" in spec.defs:
        listed = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", spec.rule_text("R-FAULT-003")))
        code = set(re.findall(r'#define GR_PANIC_[A-Z_]+ "([a-z_.]+)"',
                              read_text(os.path.join(root, "reference/src/fault.h"))))
        for name in sorted(listed - code):
            problems.add(cat, "panic point %s (R-FAULT-003) is not in fault.h" % name)
        for name in sorted(code - listed):
            problems.add(cat, "panic point %s of fault.h is not listed in R-FAULT-003" % name)
    # a command is named with the chapter 7 operation it runs: `load-model {path}` (`load_model`
    # ...); the fault commands are those of R-PROTO-060 (`fault-injection` is the capability)
    ops = {row[1] for row in read_tsv(root)}
    ops |= {"acquire", "release"}  # the pool's operations (chapter 12): the session commands
    ch9 = "\n".join(spec.chapter_lines(9))
    commands = {name for name, op in re.findall(
        r"`([a-z]+(?:-[a-z]+)*)(?: \{[^}`]*\})?` \(`([a-z_]+)`", ch9) if op in ops}
    fault = set()
    if "R-PROTO-060" in spec.defs:
        fault = set(re.findall(r"`(fault-[a-z]+)(?: \{[^}`]*\})?`",
                               spec.rule_text("R-PROTO-060"))) - {"fault-injection"}
    served = set(re.findall(r'\{"([a-z]+(?:-[a-z]+)*)", (?:gr_)?cmd_[a-z_]+',
                            read_text(os.path.join(root, "reference/serve/server.c"))))
    for name in sorted((commands | fault) - served):
        problems.add(cat, "command %s (chapter 9) is not served by serve/server.c" % name)
    for name in sorted(served - commands - fault):
        problems.add(cat, "serve/server.c serves %s, which chapter 9 does not define" % name)
    spec_py = os.path.join(root, "harness/ggufref_harness/spec.py")
    if os.path.exists(spec_py):
        harness = harness_constants(read_text(spec_py), ("COMMANDS", "FAULT_COMMANDS"))
        for var, want, what in (("COMMANDS", commands, "chapter 9"),
                                ("FAULT_COMMANDS", fault, "R-PROTO-060")):
            have = harness.get(var)
            if have is None:
                problems.add(cat, "harness spec.py: no literal %s" % var)
                continue
            for name in sorted(set(have) - want):
                problems.add(cat, "harness spec.py %s lists %s, which %s does not define" % (
                    var, name, what))
            for name in sorted(want - set(have)):
                problems.add(cat, "harness spec.py %s lacks %s (%s)" % (var, name, what))
    for i, line in enumerate(spec.lines, 1):
        for path in re.findall(r"`([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]*)`", line):
            if not path.startswith("..") and not os.path.exists(os.path.join(root, path)):
                problems.add(cat, "SPEC.md:%d: `%s` does not exist" % (i, path))


def harness_constants(text, names):
    """The literal values (tuples, dicts, ...) assigned to `names` at the top level of a Python
    source, read without importing it: {name: value}; a name assigned something else is left
    out."""
    out = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id in names:
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------

def write_matrix(path, spec, cites):
    """Markdown: one row per defined ID, the test files citing it (r: through a range only)."""
    out = ["# Requirement traceability matrix", "",
           "Generated by `tools/spec_trace.py --matrix`. A file marked *(range)* cites the ID only "
           "through a range such as `R-TYPE-010..024`.", ""]
    for n, title in spec.chapters.items():
        ids = [r for r, (_, c) in spec.defs.items() if c == n]
        if not ids:
            continue
        out += ["## %d. %s" % (n, title), "", "| ID | cited by |", "|---|---|"]
        for rid in ids:
            files = collections.OrderedDict()
            for c in cites.get(rid, []):
                files.setdefault(c.path, set()).add(c.kind)
            cell = ", ".join("`%s`%s" % (f, "" if "direct" in k else " *(range)*")
                             for f, k in sorted(files.items())) or "**untested**"
            out.append("| %s | %s |" % (rid, cell))
        out.append("")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out))


def summarize(spec, cites, n_tests, strict_ranges, problems, quiet):
    direct = {r for r, cs in cites.items() if any(c.kind == "direct" for c in cs)}
    range_only = {r for r in cites if r not in direct}
    uncited = [r for r in spec.defs if r not in cites]
    for rid in uncited:
        problems.add("untested rules (defined, cited by no test)",
                     "%s (SPEC.md:%d)" % (rid, spec.defs[rid][0]))
    for rid in (r for r in spec.defs if r in range_only):
        msg = "%s (SPEC.md:%d) only via %s" % (rid, spec.defs[rid][0], ", ".join(
            sorted({"%s:%d" % (c.path, c.line) for c in cites[rid]})))
        if strict_ranges:
            problems.add("rules cited only through a range", msg)
        else:
            problems.warn("rules cited only through a range", msg)
    for rid in (r for r in spec.defs if r in direct):
        files = {c.path for c in cites[rid] if c.kind == "direct"}
        if all(any(fnmatch.fnmatch(f, g) for g in LIBRARY_GLOBS) for f in files):
            problems.warn("rules cited only by the harness library (no test of their own)",
                          "%s (SPEC.md:%d) in %s" % (rid, spec.defs[rid][0], ", ".join(
                              sorted(files))))
    if quiet:
        return len(direct), len(range_only), len(uncited)
    print("spec_trace: %d rules defined in SPEC.md, %d test files scanned" % (len(spec.defs),
                                                                            n_tests))
    print("%-4s %-32s %8s %7s %6s %9s" % ("ch.", "title", "defined", "cited", "range", "uncited"))
    for n, title in spec.chapters.items():
        ids = [r for r, (_, c) in spec.defs.items() if c == n]
        print("%-4s %-32s %8d %7d %6d %9d" % (
            n, title[:32], len(ids), sum(r in direct for r in ids),
            sum(r in range_only for r in ids), sum(r not in cites for r in ids)))
    print("%-4s %-32s %8d %7d %6d %9d" % ("all", "", len(spec.defs), len(direct),
                                           len(range_only), len(uncited)))
    return len(direct), len(range_only), len(uncited)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="the repository root (default: the parent of tools/)")
    ap.add_argument("--matrix", metavar="FILE", help="write the ID -> test files matrix (Markdown)")
    ap.add_argument("--strict-ranges", action="store_true",
                    help="a rule cited only through a range counts as untested")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    args = ap.parse_args(argv)
    problems = Problems()
    try:
        spec = Spec(os.path.join(args.root, "SPEC.md"), problems)
        check_spec_structure(spec, problems)
        cites, n_tests = scan_tree(args.root, spec, problems)
        check_statuses(args.root, spec, problems)
        check_states(args.root, spec, problems)
        check_transition_matrix(args.root, spec, problems)
        check_names(args.root, spec, problems)
    except OSError as e:
        print("spec_trace: %s" % e, file=sys.stderr)
        return 2
    summarize(spec, cites, n_tests, args.strict_ranges, problems, args.quiet)
    if args.matrix:
        write_matrix(args.matrix, spec, cites)
        if not args.quiet:
            print("matrix: %s" % args.matrix)
    for cat, msgs in problems.warnings.items():
        print("\nwarning: %s (%d):" % (cat, len(msgs)))
        for m in msgs:
            print("  " + m)
    for cat, msgs in problems.by_cat.items():
        print("\nFAIL: %s (%d):" % (cat, len(msgs)))
        for m in msgs:
            print("  " + m)
    if problems.count():
        print("\nspec_trace: %d problems" % problems.count())
        return 1
    if not args.quiet:
        print("spec_trace: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
