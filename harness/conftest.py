"""The acceptance suite's driver: options, fixtures, markers and the conformance report.

    /usr/bin/python3 -m pytest harness                       # against the reference
    /usr/bin/python3 -m pytest harness --impl "my-runtime --serve"   # against anything else

Markers:
  @pytest.mark.req("R-PROTO-003", ...)   requirement IDs a test checks (every test has one)
  @pytest.mark.cap("cancel", ...)        capabilities a test needs; when the implementation's
                                         boot does not advertise one, the test is reported
                                         "not applicable" (a skip), not failed.
"""
import os
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ggufref_harness import paths, report, spec  # noqa: E402
from ggufref_harness import wire  # noqa: E402
from ggufref_harness.wire import Server, WireViolation  # noqa: E402

collect_ignore = ["selftest"]  # run explicitly: pytest harness/selftest

NA_PREFIX = "not applicable: "
NC_PREFIX = "not claimed: "


def pytest_addoption(parser):
    g = parser.getgroup("ggufref", "ggufref acceptance suite")
    g.addoption("--impl", default=None,
                help="command that starts the implementation's protocol server "
                     "(default: the reference, `<build>/ggufref serve`)")
    g.addoption("--tier", default="auto", choices=("auto", "exact", "tolerant"),
                help="golden-trace comparison tier (auto: exact when --impl runs this "
                     "checkout's own `ggufref serve` binary, tolerant for anything else; "
                     "never taken from what the implementation says, R-LEVEL-010)")
    g.addoption("--report-dir", default=None,
                help="folder for report.md/html/json and junit.xml "
                     "(default: <build>/harness-report)")
    g.addoption("--expected-failures", default=os.path.join(paths.HARNESS,
                                                             "expected_failures.tsv"),
                help="TSV of requirement, reason, issue link: their failures are expected")
    g.addoption("--tokens-only", action="store_true",
                help="compare golden and bug traces on tokens only, as for an implementation "
                     "without `logits`, even when it advertises it (R-LEVEL-061); the "
                     "protocol's own logits tests still run")
    g.addoption("--quick", action="store_true",
                help="fewer property-test examples and a sample of the golden traces")


def _report_dir(config):
    d = config.getoption("--report-dir") or os.environ.get("GGUFREF_REPORT_DIR")
    if not d:
        d = os.path.join(paths.build_dir() or os.path.join(paths.ROOT, "build"),
                         "harness-report")
    return os.path.abspath(d)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line("markers", "req(*ids): requirement IDs the test checks")
    config.addinivalue_line("markers", "cap(*names): capabilities the test needs")
    config.addinivalue_line("markers", "level(name): the test's conformance level (R-LEVEL-001)")
    config.addinivalue_line("markers", "fresh: the test needs a new implementation process "
                                       "(R-LEVEL-050)")
    if getattr(config.option, "collectonly", False):
        return
    rdir = _report_dir(config)
    os.makedirs(rdir, exist_ok=True)
    if not getattr(config.option, "xmlpath", None):
        config.option.xmlpath = os.path.join(rdir, "junit.xml")
    col = report.Collector()
    col.impl = config.getoption("--impl") or paths.reference_command()
    col.expected_failures = report.load_expected_failures(
        config.getoption("--expected-failures"))
    config._ggufref = {"collector": col, "report_dir": rdir, "boot": None}


# ---- the implementation under test ---------------------------------------------------------

def impl_command(config):
    return config.getoption("--impl") or paths.reference_command()


def boot_info(config):
    """The implementation's boot result, from one throwaway process (cached). A result whose
    fields have the wrong types (R-PROTO-020) is kept with its problems listed under
    `problems`; it then advertises no capability (spec.caps_of). Never raises."""
    state = config._ggufref
    if state["boot"] is None:
        cmd = impl_command(config)
        try:
            with wire.spawn(cmd) as s:
                res = s.request("boot").expect_ok()
            state["boot"] = dict(res)
            probs = spec.boot_problems(res)
            if probs:
                state["boot"]["problems"] = probs
        except Exception as e:  # noqa: BLE001 -- any failure to boot is a verdict, not a crash
            state["boot"] = {"error": "cannot boot `%s`: %s" % (cmd, str(e).split("\n")[0])}
        b = state["boot"]
        state["collector"].boot = {
            "name": b.get("name") if isinstance(b.get("name"), str) else spec._shown(
                b.get("name")),
            "version": b.get("version") if isinstance(b.get("version"), str) else spec._shown(
                b.get("version")),
            "capabilities": sorted(spec.caps_of(b)),
            "levels": sorted(spec.levels_of(b), key=spec.LEVELS.index),
        }
        for k in ("error", "problems"):
            if k in b:
                state["collector"].boot[k] = b[k]
    return state["boot"]


def capabilities(config):
    return spec.caps_of(boot_info(config))


def tier(config):
    """The comparison tier: --tier, else exact for this checkout's own reference binary and
    tolerant for anything else (R-LEVEL-010; not from boot's `name`)."""
    t = config.getoption("--tier")
    if t != "auto":
        return t
    return "exact" if paths.is_reference_command(impl_command(config)) else "tolerant"


@pytest.fixture(scope="session")
def impl(pytestconfig):
    """The command string that starts the implementation under test."""
    return impl_command(pytestconfig)


@pytest.fixture(scope="session")
def caps(pytestconfig):
    return capabilities(pytestconfig)


@pytest.fixture(scope="session")
def compare_tier(pytestconfig):
    return tier(pytestconfig)


@pytest.fixture(scope="session")
def tokens_only(pytestconfig):
    return pytestconfig.getoption("--tokens-only")


@pytest.fixture(scope="session")
def quick(pytestconfig):
    return pytestconfig.getoption("--quick")


class SharedProcess:
    """One implementation process for the tests of a module that need no fresh one
    (R-LEVEL-050). Before each test it is brought to a known state through the protocol
    (RESET: boot, free-model, configure-sampling with the defaults: state FREED, no model, no
    request, default settings); after a failed test, or one that left events unread, it is
    discarded and the next test gets a new one. At the end of the module its input is closed
    and it must exit with status 0 (R-PROTO-002)."""

    RESET = ('{"id":"reset-1","cmd":"boot"}\n{"id":"reset-2","cmd":"free-model"}\n'
             '{"id":"reset-3","cmd":"configure-sampling"}\n')

    def __init__(self, impl):
        self.impl = impl
        self.server = None
        self.used = 0

    def take(self):
        if self.server is not None:
            try:
                self.server.send_raw(self.RESET)
                for rid in ("reset-1", "reset-2", "reset-3"):
                    self.server.wait(rid)
                if self.server.unclaimed():  # events the previous test left unread
                    self.discard()
            except AssertionError:
                self.discard()
        if self.server is None:
            self.server = wire.spawn(self.impl)
            self.server.shared = True
        self.used += 1
        return self.server

    def release(self, ok):
        s = self.server
        if s is None:
            return
        clean = ok and not s.closed and not s.unclaimed() and not s._buf
        if not clean:
            self.discard()

    def discard(self):
        if self.server is not None:
            self.server.kill()
        self.server = None

    def close(self):
        if self.server is None or self.server.closed:
            self.server = None
            return 0
        s, self.server = self.server, None
        return s.close()


@pytest.fixture(scope="module")
def shared_process(impl):
    sp = SharedProcess(impl)
    yield sp
    status = sp.close()
    if status != 0:
        raise WireViolation("R-PROTO-002: the implementation shared by the tests of this "
                            "module exited with status %r at the end of its input" % (status,))


@pytest.fixture
def server(request, impl, shared_process):
    """An implementation process (not booted): a fresh one for tests marked `fresh` (whose
    point is the state a new process starts in, or its end), else the module's shared one,
    reset through the protocol (SharedProcess). At teardown a fresh process's input is closed
    and it must exit with status 0 (R-PROTO-002)."""
    if request.node.get_closest_marker("fresh") is None:
        s = shared_process.take()
        yield s
        shared_process.release(not request.node.stash.get(_failed_key, False))
        return
    s = wire.spawn(impl)
    yield s
    if not s.closed:
        status = s.close()
        if status != 0:
            raise WireViolation("R-PROTO-002: the implementation exited with status %r at the "
                                "end of its input\n%s" % (status, s.transcript()))


@pytest.fixture
def booted(server):
    server.request("boot").expect_ok()
    return server


# ---- markers: not applicable, expected failures ------------------------------------------

def pytest_collection_modifyitems(config, items):
    if not hasattr(config, "_ggufref"):
        return
    # the self-tests (harness/selftest) judge the harness, not an implementation: no report
    config._ggufref["acceptance"] = any(not _is_selftest(i) for i in items)
    # expected failures are decided after a test fails, from the requirements its failure is
    # charged to (pytest_runtest_makereport), never by marking every test that names one


def claimed_levels(config):
    return spec.levels_of(boot_info(config))


def pytest_runtest_setup(item):
    if _is_selftest(item):
        return
    level = _level(item)
    info = boot_info(item.config)
    if "error" not in info and level not in claimed_levels(item.config):
        # R-LEVEL-002: a level the implementation does not claim is not judged, never passed
        pytest.skip(NC_PREFIX + "level %s (boot's `levels` does not list it)" % level)
    need = set()
    for m in item.iter_markers("cap"):
        need.update(m.args)
    if not need:
        return
    if "error" in info:
        return  # the test itself will fail to start the implementation, with the reason
    missing = sorted(need - capabilities(item.config))
    if missing:
        pytest.skip(NA_PREFIX + "the implementation does not advertise " + ", ".join(missing))


def _is_selftest(item):
    return "selftest" in item.nodeid.replace("\\", "/").split("/")


def _reqs(item):
    out = set()
    for m in item.iter_markers("req"):
        out.update(m.args)
    return out


def _caps(item):
    out = set()
    for m in item.iter_markers("cap"):
        out.update(m.args)
    return out


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not hasattr(item.config, "_ggufref") or _is_selftest(item):
        return
    if rep.failed:
        item.stash[_failed_key] = True
        _expected(item, call, rep)
    done = item.stash.setdefault(_recorded, [False])
    if done[0]:
        return
    status = None
    msg = ""
    if rep.when in ("setup", "call") or rep.failed:
        if rep.skipped and hasattr(rep, "wasxfail"):
            status = "expected-failure"
            msg = rep.wasxfail
        elif rep.skipped:
            reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
            reason = reason.replace("Skipped: ", "")
            status = "not-applicable" if reason.startswith(NA_PREFIX) else \
                "not-claimed" if reason.startswith(NC_PREFIX) else "not-run"
            msg = reason
        elif rep.failed:
            status = "fail"
            msg = str(rep.longrepr)
        elif rep.when == "call":
            status = "unexpected-pass" if hasattr(rep, "wasxfail") else "pass"
    if status is None:
        return
    done[0] = True
    reqs = _reqs(item) or {"(no requirement)"}
    charged = None
    if status in ("fail", "expected-failure") and call.excinfo is not None:
        charged = getattr(rep, "reqs_charged", None) or charged_requirements(call.excinfo.value)
    item.config._ggufref["collector"].add(item.nodeid, status, reqs, _caps(item), msg,
                                          getattr(rep, "duration", 0.0), charged=charged,
                                          level=_level(item),
                                          notes=[v for k, v in item.user_properties
                                                 if k == "divergence"])


_recorded = pytest.StashKey()
_failed_key = pytest.StashKey()
_REQ_ID = re.compile(r"R-[A-Z]+-[0-9A-Z]+")


def _expected(item, call, rep):
    """An expected failure (--expected-failures): a failure whose charged requirements (the
    test's own when it names none, R-LEVEL-004) are all listed becomes an xfail, so it does
    not fail the run; any other failure stays a failure."""
    xf = item.config._ggufref["collector"].expected_failures
    if not xf or rep.when not in ("setup", "call") or call.excinfo is None:
        return
    charged = charged_requirements(call.excinfo.value) or sorted(_reqs(item))
    if charged and all(r in xf for r in charged):
        rep.outcome = "skipped"
        rep.wasxfail = "; ".join("%s expected to fail: %s %s" % (
            r, xf[r]["reason"], xf[r]["issue"]) for r in charged)
        rep.reqs_charged = charged


def charged_requirements(exc):
    """The requirements a failure is charged to (R-LEVEL-004): the exception's `reqs` when it
    carries them (tracefmt's divergences, wire violations), else the IDs that open its message
    ("R-PROTO-003: ..."), else None: the test's whole `req` list."""
    reqs = getattr(exc, "reqs", None)
    if reqs:
        return sorted(set(reqs))
    text = str(exc).lstrip()
    m = re.match(r"((?:R-[A-Z]+-[0-9A-Z]+[ ,/]*)+)[:(]", text)
    if m:
        return sorted(set(_REQ_ID.findall(m.group(1))))
    return None


def _level(item):
    for m in item.iter_markers("level"):
        return m.args[0]
    return spec.DEFAULT_LEVEL


def pytest_sessionfinish(session, exitstatus):
    wire.close_spares()
    cfg = session.config
    if not hasattr(cfg, "_ggufref") or getattr(cfg.option, "collectonly", False) or \
            not cfg._ggufref.get("acceptance", True):
        return
    col = cfg._ggufref["collector"]
    if not col.boot:
        boot_info(cfg)
    cfg._ggufref["written"] = col.write(cfg._ggufref["report_dir"])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not hasattr(config, "_ggufref") or "written" not in config._ggufref:
        return
    col = config._ggufref["collector"]
    tr = terminalreporter
    tr.section("ggufref conformance report")
    fails = [r for r, e in col.by_requirement().items() if e["status"] == "fail"]
    tr.write_line("implementation: %s" % col.impl)
    tr.write_line("levels: %s" % col.level_summary())
    tr.write_line("verdict: %s%s" % (col.verdict(), (" (failed requirements: %s)" % ", ".join(
        fails)) if fails else ""))
    for p in config._ggufref["written"][:2]:
        tr.write_line("report: %s" % p)
    tr.write_line("junit:  %s" % config.option.xmlpath)
