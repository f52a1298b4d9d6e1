"""The malformed-file catalog for every implementation (SPEC R-GGUF-050, R-LEVEL-040): each file
of `<build>/catalog/` (written at build time by conformance/catalog, listed in index.json) is
loaded with `load-model`, one file at a time, with a per-file time limit.

core (R-LEVEL-040): an answer within the limit, no crash, no exit, still serving after it; the
two `accept` rows load (state READY), every `reject` row is an error (any code).
strict-errors: the error's code is the row's `status` and its message satisfies the row's line
matcher (R-TRACE-014).

One implementation process serves the whole module (R-LEVEL-050); a crash or hang fails that
file's test and the next file gets a fresh process.
"""
import json
import os

import pytest

from ggufref_harness import paths, spec, tracefmt
from ggufref_harness.wire import WireViolation, spawn

PER_FILE_TIMEOUT = float(os.environ.get("GGUFREF_CATALOG_TIMEOUT", "10"))


def catalog_dir():
    d = os.environ.get("GGUFREF_CATALOG_DIR")
    if d:
        return os.path.abspath(d)
    b = paths.build_dir()
    return os.path.join(b, "catalog") if b else None


def _entries():
    d = catalog_dir()
    if not d or not os.path.isfile(os.path.join(d, "index.json")):
        return []
    with open(os.path.join(d, "index.json"), encoding="utf-8") as f:
        idx = json.load(f)
    return idx.get("entries", [])


ENTRIES = _entries()
NO_CATALOG = "the catalog is not built (<build>/catalog/index.json; build target gguf_catalog " \
             "or set GGUFREF_CATALOG_DIR)"


class Loader:
    """One process for the module; replies kept for the strict test of the same file."""

    def __init__(self, impl):
        self.impl = impl
        self.server = None
        self.replies = {}  # name -> (reply or None, problem or None)
        self.size_bits = 64  # boot's limits.size_bits (R-GGUF-052)

    def fresh(self):
        if self.server is not None:
            self.server.kill()
        self.server = spawn(self.impl, timeout=PER_FILE_TIMEOUT)
        boot = self.server.request("boot")
        boot.expect_ok()
        limits = boot.final.get("limits") if isinstance(boot.final, dict) else None
        bits = limits.get("size_bits", 64) if isinstance(limits, dict) else 64
        self.size_bits = 32 if bits == 32 else 64

    def load(self, entry):
        if entry["name"] in self.replies:
            return self.replies[entry["name"]]
        path = os.path.join(catalog_dir(), entry["file"])
        out = None
        try:
            if self.server is None:
                self.fresh()
            reply = self.server.request("load-model", path=path)
            # still serving (R-PROTO-010): the next command is answered
            self.server.request("diagnostics").expect_ok()
            out = (reply, None)
        except WireViolation as e:
            out = (None, str(e))
            self.server.kill()
            self.server = None
        except AssertionError as e:  # diagnostics answered with an error
            out = (None, "R-PROTO-010: not serving after the file: %s" % e)
            self.server.kill()
            self.server = None
        self.replies[entry["name"]] = out
        return out

    def close(self):
        if self.server is not None:
            status = self.server.close()
            self.server = None
            return status
        return 0


@pytest.fixture(scope="module")
def loader(impl):
    lo = Loader(impl)
    yield lo
    lo.close()


def _marks(e, level):
    reqs = ["R-GGUF-050", "R-LEVEL-040", "R-PROTO-002", "R-PROTO-021"]
    if isinstance(e.get("rule"), str) and e["rule"].startswith("R-"):
        reqs.append(e["rule"])
    marks = [pytest.mark.req(*reqs)]
    if level != "core":
        marks.append(pytest.mark.level(level))
    return marks


CORE = [pytest.param(e, marks=_marks(e, "core"), id=e["name"]) for e in ENTRIES]
STRICT = [pytest.param(e, marks=_marks(e, "strict-errors"), id=e["name"]) for e in ENTRIES
          if e["verdict"] == "reject"]


@pytest.mark.skipif(not ENTRIES, reason="not run: " + NO_CATALOG)
@pytest.mark.parametrize("entry", CORE)
def test_catalog_file_is_answered(loader, entry):
    """core: an answer in time, still serving; accept rows READY, reject rows an error."""
    reply, problem = loader.load(entry)
    if problem:
        raise tracefmt.TraceFailure("%s (%s, %s): %s" % (
            entry["file"], entry["class"], entry.get("cve") or "no CVE", problem),
            [problem.split(":")[0]] if problem.startswith("R-") else ["R-PROTO-002"])
    if entry["verdict"] == "accept":
        if not reply.ok or reply.final.get("state") != "READY":
            raise tracefmt.TraceFailure("%s must load (state READY): %s" % (
                entry["file"], reply.describe()), [entry["rule"], "R-GGUF-050"])
    elif reply.ok:
        raise tracefmt.TraceFailure("%s (%s%s) was accepted; the reference rejects it with %s" % (
            entry["file"], entry["class"], ", %s" % entry["cve"] if entry.get("cve") else "",
            entry["status_name"]), [entry["rule"], "R-GGUF-050"])


@pytest.mark.skipif(not ENTRIES, reason="not run: " + NO_CATALOG)
@pytest.mark.parametrize("entry", STRICT)
def test_catalog_file_gets_the_exact_error(loader, entry):
    """strict-errors: the row's status, and its message matcher."""
    reply, problem = loader.load(entry)
    if problem or reply.ok:
        pytest.skip("not applicable: the core test of this file failed")
    err = reply.error
    want, want_name, rule = entry["status"], entry["status_name"], entry["rule"]
    if loader.size_bits == 32 and entry.get("status_size32") is not None:
        # R-GGUF-052: on a 32-bit size_t the byte size itself overflows first (R-GGUF-025)
        want = entry["status_size32"]
        want_name, rule = spec.STATUS.get(want, "?"), "R-GGUF-025"
    if err.get("code") != want:
        raise tracefmt.TraceFailure("%s: want %d %s, got %r %s\n%s" % (
            entry["file"], want, want_name, err.get("code"),
            spec.STATUS.get(err.get("code"), "?"), reply.describe()), [rule])
    if want != entry["status"]:
        return  # the 64-bit row's message matcher names the 64-bit failure
    if entry.get("message") is not None:
        problems = tracefmt.compare(entry["message"], err.get("message"), path="message")
        if problems:
            raise tracefmt.TraceFailure("%s: %s\n%s" % (entry["file"], "; ".join(problems),
                                                         reply.describe()),
                                        ["R-PROTO-004", "R-STATUS-003"])
