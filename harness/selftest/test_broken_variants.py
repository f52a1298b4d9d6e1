"""The suite must catch broken implementations: run the whole acceptance suite against each
deliberately broken variant of the reference (`ggufref-fi serve --break NAME`, CLI-only
misbehaviour, reference/cli/protocol.c) and assert that it fails, naming the requirement.

    /usr/bin/python3 -m pytest harness/selftest
"""
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from ggufref_harness import paths  # noqa: E402

# variant -> the requirements the suite must report failed (each one must be among them)
VARIANTS = {
    "status-number": ["R-RT-002", "R-RT-005"],          # MODEL_NOT_LOADED sent as 12
    "reset-keeps-tokens": ["R-RT-027"],                 # reset answers OK, does nothing
    "ignore-cancel": ["R-PROTO-041"],                   # generate ignores cancel
    "extra-coin": ["R-SAMP-030", "R-SAMP-020"],         # the sampler draws an extra coin
    "load-not-transactional": ["R-RT-010"],             # a failed load loses the old model
    "position-shift": ["R-PROTO-030"],                  # the previous token's logits reported
    "oversize-exit": ["R-PROTO-002"],                   # an oversized line ends the server
    "malformed-silent": ["R-PROTO-005"],                # malformed lines get no answer
    "logits-2pct": ["R-PROTO-030"],                     # logits 2% off (f32 models too)
    "accept-malformed": ["R-GGUF-050"],                 # a malformed file "loads"
    "kv-not-reset": ["R-RT-024"],                       # one request's context leaks on
}

FI = os.path.join(paths.build_dir() or "", "ggufref-fi")


def _run(name, tmp):
    rdir = os.path.join(tmp, name)
    impl = "%s serve --break %s" % (shlex.quote(FI), name)
    # the tolerant tier: the one third parties get (issue 10, "keep the teeth")
    cmd = [sys.executable, "-m", "pytest", paths.HARNESS, "-q", "--quick", "--impl", impl,
           "--tier", "tolerant", "--report-dir", rdir, "-p", "no:cacheprovider"]
    # the reference answers framing errors in microseconds: a short wait for silence
    env = dict(os.environ, GGUFREF_HARNESS_FRAMING_TIMEOUT="1")
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=paths.ROOT, timeout=300,
                       env=env)
    try:
        with open(os.path.join(rdir, "report.json"), encoding="utf-8") as f:
            report = json.load(f)
    except OSError:
        report = None
    return p.returncode, report, p.stdout[-3000:]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    if not os.path.isfile(FI):
        pytest.skip("no ggufref-fi in the build folder (%s)" % FI)
    tmp = str(tmp_path_factory.mktemp("variants"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futs = {n: pool.submit(_run, n, tmp) for n in VARIANTS}
        return {n: f.result() for n, f in futs.items()}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_suite_catches_variant(results, name):
    rc, report, out = results[name]
    assert report is not None, "no report for %s:\n%s" % (name, out)
    failed = sorted(r for r, e in report["requirements"].items() if e["status"] == "fail")
    assert rc != 0 and report["verdict"] == "FAIL", \
        "the suite PASSED the broken variant %s\n%s" % (name, out)
    missing = [r for r in VARIANTS[name] if r not in failed]
    assert not missing, "variant %s: the suite failed %s but not %s" % (name, failed, missing)
    print("variant %s caught: failed requirements %s" % (name, ", ".join(failed)))
    assert failed, "variant %s: FAIL without a failed requirement" % name


def test_unbroken_reference_passes(tmp_path):
    """The control: the same binary without --break passes everything."""
    if not os.path.isfile(FI):
        pytest.skip("no ggufref-fi")
    rdir = str(tmp_path / "control")
    p = subprocess.run([sys.executable, "-m", "pytest", paths.HARNESS, "-q", "--impl",
                        "%s serve --fault-injection" % shlex.quote(FI), "--report-dir", rdir,
                        "-p", "no:cacheprovider"], capture_output=True, text=True,
                       cwd=paths.ROOT, timeout=300)
    assert p.returncode == 0, p.stdout[-3000:]
