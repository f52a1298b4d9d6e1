"""The conformance report: per requirement and per capability, pass / fail / not applicable.

Written as report.md, report.html and report.json into the report folder. The JSON form is what
scripts read (the broken-variants self-test reads `requirements[*].status`).
"""
import datetime
import html
import json
import os
import re

from .paths import ROOT

# Order of precedence when several tests check one requirement.
_RANK = {"fail": 6, "expected-failure": 5, "pass": 4, "unexpected-pass": 3,
         "not-applicable": 2, "not-claimed": 1, "not-run": 0}
_LABEL = {"fail": "FAIL", "expected-failure": "expected failure", "pass": "pass",
          "unexpected-pass": "pass (listed as expected failure)",
          "not-applicable": "not applicable", "not-claimed": "not claimed",
          "not-run": "not run"}
_COLOR = {"fail": "#f8d0d0", "expected-failure": "#fbe7c6", "pass": "#d4f0d4",
          "unexpected-pass": "#d4e8f0", "not-applicable": "#e8e8e8", "not-claimed": "#eeeeee",
          "not-run": "#ffffff"}
LEVELS = ("core", "strict-errors", "sampler-llama2c", "fault-injection")


def spec_requirements(spec_path=None):
    """{id: first sentence} for every `- **R-XXX-NNN** text` rule in SPEC.md."""
    spec_path = spec_path or os.path.join(ROOT, "SPEC.md")
    reqs = {}
    try:
        text = open(spec_path, encoding="utf-8").read()
    except OSError:
        return reqs
    for m in re.finditer(r"^- \*\*(R-[A-Z]+-[0-9A-Z]+)\*\*\s+(.*(?:\n(?!- |\n|#).*)*)",
                         text, re.M):
        body = " ".join(m.group(2).split())
        first = re.split(r"(?<=[.;])\s", body, maxsplit=1)[0]
        reqs[m.group(1)] = first[:160]
    return reqs


class Collector:
    """Gathers one record per test (filled by the conftest hooks)."""

    def __init__(self):
        self.tests = []
        self.impl = ""
        self.boot = {}
        self.expected_failures = {}
        self.started = datetime.datetime.now()

    def add(self, nodeid, outcome, reqs, caps, message="", duration=0.0, charged=None,
            level="core", notes=None):
        """One test's record. `charged`: the requirements its failure is charged to (the
        check that failed, R-LEVEL-004); None charges every requirement the test names."""
        self.tests.append({"test": nodeid, "status": outcome, "requirements": sorted(reqs),
                           "charged": sorted(charged) if charged else None, "level": level,
                           "capabilities": sorted(caps), "message": message[:2000],
                           "duration": round(duration, 3), "divergences": list(notes or [])})

    # ---- aggregation --------------------------------------------------------------------
    def by_requirement(self):
        """Per requirement: the strongest status among its tests. A failure counts against
        the requirements it is charged to only; for the test's other requirements it is a
        test that did not get to check them ("not run")."""
        out = {}
        for t in self.tests:
            charged = t.get("charged")
            names = list(t["requirements"] or ["(none)"])
            if charged:
                names += [r for r in charged if r not in names]
            for r in names:
                e = out.setdefault(r, {"status": "not-run", "tests": [], "failed": []})
                e["tests"].append(t["test"])
                st = t["status"]
                if st in ("fail", "expected-failure") and charged and r not in charged:
                    st = "not-run"
                if _RANK[st] > _RANK[e["status"]]:
                    e["status"] = st
                if st == "fail":
                    e["failed"].append(t["test"])
        for r, e in out.items():  # listed as expected to fail, yet every test of it passed
            if r in self.expected_failures and e["status"] == "pass":
                e["status"] = "unexpected-pass"
        return dict(sorted(out.items()))

    def by_capability(self):
        caps = {}
        advertised = set(self.boot.get("capabilities", []) or [])
        for t in self.tests:
            for c in t["capabilities"]:
                e = caps.setdefault(c, {"advertised": c in advertised, "pass": 0, "fail": 0,
                                        "not-applicable": 0, "other": 0})
                key = t["status"] if t["status"] in ("pass", "fail", "not-applicable") \
                    else "other"
                e[key] += 1
        for c in advertised:
            caps.setdefault(c, {"advertised": True, "pass": 0, "fail": 0,
                                "not-applicable": 0, "other": 0})
        return dict(sorted(caps.items()))

    def by_level(self):
        """R-LEVEL-003: per level, its verdict and counts. verdict: "conforms", "N failures",
        "not claimed" or "nothing to check"."""
        claimed = set(self.boot.get("levels") or ["core"])
        out = {}
        for lv in LEVELS:
            counts = {}
            for t in self.tests:
                if t.get("level", "core") == lv:
                    counts[t["status"]] = counts.get(t["status"], 0) + 1
            n_fail = counts.get("fail", 0)
            judged = counts.get("pass", 0) + counts.get("unexpected-pass", 0) + \
                counts.get("expected-failure", 0) + n_fail
            if lv not in claimed and lv != "core":
                verdict = "not claimed"
            elif n_fail:
                verdict = "%d failure%s" % (n_fail, "" if n_fail == 1 else "s")
            elif judged:
                verdict = "conforms"
            else:
                verdict = "nothing to check"
            out[lv] = {"verdict": verdict, "claimed": lv in claimed or lv == "core",
                       "counts": counts}
        return out

    def level_summary(self):
        """One line: `conforms to core; strict-errors: 3 failures; sampler-llama2c: not
        claimed; ...`."""
        parts = []
        for lv, e in self.by_level().items():
            parts.append("conforms to %s" % lv if e["verdict"] == "conforms"
                         else "%s: %s" % (lv, e["verdict"]))
        return "; ".join(parts)

    def totals(self):
        tot = {}
        for t in self.tests:
            tot[t["status"]] = tot.get(t["status"], 0) + 1
        return tot

    def verdict(self):
        if not self.tests:
            return "NO TESTS RAN"
        return "FAIL" if any(t["status"] == "fail" for t in self.tests) else "PASS"

    # ---- output -------------------------------------------------------------------------
    def as_json(self):
        return {
            "implementation": self.impl, "boot": self.boot, "verdict": self.verdict(),
            "levels": self.by_level(), "level_summary": self.level_summary(),
            "totals": self.totals(), "started": self.started.isoformat(timespec="seconds"),
            "requirements": self.by_requirement(), "capabilities": self.by_capability(),
            "expected_failures": self.expected_failures, "tests": self.tests,
        }

    def write(self, folder):
        os.makedirs(folder, exist_ok=True)
        data = self.as_json()
        texts = spec_requirements()
        with open(os.path.join(folder, "report.json"), "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
        with open(os.path.join(folder, "report.md"), "w", encoding="utf-8") as f:
            f.write(self._markdown(data, texts))
        with open(os.path.join(folder, "report.html"), "w", encoding="utf-8") as f:
            f.write(self._html(data, texts))
        return [os.path.join(folder, n) for n in ("report.md", "report.html", "report.json")]

    def _header_lines(self, d):
        b = d["boot"] or {}
        tot = d["totals"]
        return [
            ("levels", d["level_summary"]),
            ("verdict", d["verdict"]),
            ("implementation", "%s %s (`%s`)" % (b.get("name", "?"), b.get("version", "?"),
                                                 d["implementation"])),
            ("capabilities", ", ".join(b.get("capabilities", []) or []) or "none"),
            ("tests", ", ".join("%s %d" % (k, v) for k, v in sorted(tot.items()))),
            ("legitimate divergences", str(sum(len(t.get("divergences", []))
                                               for t in d["tests"]))),
            ("requirements", ", ".join("%s %d" % (_LABEL[k], v) for k, v in sorted(
                _count(r["status"] for r in d["requirements"].values()).items()))),
            ("started", d["started"]),
        ]

    def _markdown(self, d, texts):
        out = ["# ggufref conformance report", ""]
        for k, v in self._header_lines(d):
            out.append("- **%s**: %s" % (k, v))
        out += ["", "## Conformance levels", "", "| level | claimed | verdict | pass | fail | "
                "not applicable | not claimed |", "|---|---|---|---|---|---|---|"]
        for lv, e in d["levels"].items():
            c = e["counts"]
            out.append("| %s | %s | %s | %d | %d | %d | %d |" % (
                lv, "yes" if e["claimed"] else "no", e["verdict"], c.get("pass", 0),
                c.get("fail", 0), c.get("not-applicable", 0), c.get("not-claimed", 0)))
        fails = [(r, e) for r, e in d["requirements"].items() if e["status"] == "fail"]
        if fails:
            out += ["", "## Failed requirements", ""]
            for r, e in fails:
                out.append("- **%s** %s — failed by %s" % (r, texts.get(r, ""),
                                                            ", ".join(e["failed"][:5])))
        out += ["", "## Capabilities", "", "| capability | advertised | pass | fail | n/a |",
                "|---|---|---|---|---|"]
        for c, e in d["capabilities"].items():
            out.append("| %s | %s | %d | %d | %d |" % (c, "yes" if e["advertised"] else "no",
                                                      e["pass"], e["fail"],
                                                      e["not-applicable"]))
        out += ["", "## Requirements", "", "| requirement | status | tests | rule |",
                "|---|---|---|---|"]
        for r, e in d["requirements"].items():
            note = ""
            if r in d["expected_failures"]:
                note = " (expected: %s)" % d["expected_failures"][r].get("reason", "")
            out.append("| %s | %s%s | %d | %s |" % (r, _LABEL[e["status"]], note,
                                                    len(e["tests"]),
                                                    texts.get(r, "").replace("|", "\\|")))
        div = [(t["test"], n) for t in d["tests"] for n in t.get("divergences", [])]
        if div:
            out += ["", "## Legitimate divergences (R-LEVEL-021)", "",
                    "Tokens that differ where the reference's margin is within the type's "
                    "tolerance; the rest of the generation was checked teacher-forced (or not "
                    "further, without `evaluate`).", ""]
            out += ["- %s: %s" % (t, n) for t, n in div]
        failed_tests = [t for t in d["tests"] if t["status"] == "fail"]
        if failed_tests:
            out += ["", "## Failures", ""]
            for t in failed_tests:
                out += ["### %s" % t["test"], "",
                        "requirements: %s" % ", ".join(t["requirements"]), "", "```",
                        t["message"].strip()[:1500], "```", ""]
        return "\n".join(out) + "\n"

    def _html(self, d, texts):
        e = html.escape
        rows = []
        for k, v in self._header_lines(d):
            rows.append("<tr><th>%s</th><td>%s</td></tr>" % (e(k), e(str(v))))
        head = "<table class=meta>%s</table>" % "".join(rows)
        lrows = ["<tr><th>level</th><th>claimed</th><th>verdict</th><th>pass</th><th>fail</th>"
                 "<th>n/a</th><th>not claimed</th></tr>"]
        for lv, v in d["levels"].items():
            c = v["counts"]
            lrows.append("<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d"
                         "</td><td>%d</td></tr>" % (
                             e(lv), "yes" if v["claimed"] else "no", e(v["verdict"]),
                             c.get("pass", 0), c.get("fail", 0), c.get("not-applicable", 0),
                             c.get("not-claimed", 0)))
        head += "<h2>Conformance levels</h2><table>%s</table>" % "".join(lrows)
        caps = ["<tr><th>capability</th><th>advertised</th><th>pass</th><th>fail</th>"
                "<th>n/a</th></tr>"]
        for c, v in d["capabilities"].items():
            caps.append("<tr><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%d</td></tr>" % (
                e(c), "yes" if v["advertised"] else "no", v["pass"], v["fail"],
                v["not-applicable"]))
        reqs = ["<tr><th>requirement</th><th>status</th><th>tests</th><th>rule</th></tr>"]
        for r, v in d["requirements"].items():
            reqs.append('<tr style="background:%s"><td>%s</td><td>%s</td><td title="%s">%d'
                        '</td><td>%s</td></tr>' % (
                            _COLOR[v["status"]], e(r), e(_LABEL[v["status"]]),
                            e("\n".join(v["tests"])), len(v["tests"]), e(texts.get(r, ""))))
        fails = []
        for t in d["tests"]:
            if t["status"] == "fail":
                fails.append("<h3>%s</h3><p>%s</p><pre>%s</pre>" % (
                    e(t["test"]), e(", ".join(t["requirements"])), e(t["message"][:3000])))
        color = "#070" if d["verdict"] == "PASS" else "#c00"
        return ("<!doctype html><meta charset=utf-8><title>ggufref conformance report</title>"
                "<style>body{font:14px sans-serif;margin:2em}table{border-collapse:collapse;"
                "margin-bottom:1.5em}td,th{border:1px solid #bbb;padding:3px 8px;"
                "text-align:left;vertical-align:top}pre{background:#f4f4f4;padding:8px;"
                "white-space:pre-wrap}</style>"
                "<h1>ggufref conformance report: <span style='color:%s'>%s</span></h1>%s"
                "<h2>Capabilities</h2><table>%s</table><h2>Requirements</h2><table>%s</table>"
                "%s" % (color, d["verdict"], head, "".join(caps), "".join(reqs),
                        ("<h2>Failures</h2>" + "".join(fails)) if fails else ""))


def _count(it):
    out = {}
    for x in it:
        out[x] = out.get(x, 0) + 1
    return out


def load_expected_failures(path):
    """The expected-failures file: TSV `requirement<TAB>reason<TAB>issue link`, `#` comments.
    Returns {requirement: {"reason", "issue"}}."""
    out = {}
    if not path or not os.path.isfile(path):
        return out
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("\t")
            if not re.match(r"^R-[A-Z]+-[0-9A-Z]+$", parts[0].strip()):
                raise ValueError("%s:%d: first column must be a requirement ID, got %r" % (
                    path, n, parts[0]))
            out[parts[0].strip()] = {"reason": parts[1].strip() if len(parts) > 1 else "",
                                     "issue": parts[2].strip() if len(parts) > 2 else ""}
    return out
