"""Logits within the tolerance of their tensor type (SPEC R-LEVEL-020, core level): for every
fixture model, the reference decodes a prompt greedily; both the reference and the
implementation then evaluate that same sequence (teacher forcing, `evaluate`, R-PROTO-027) with
the full logits vector at every position. Per position:

  NMSE   sum (got - ref)^2 / sum ref^2 over the whole vector <= the type's `nmse`
  top-K  every one of the reference's top-4 ids within the type's abs/rel of its logit, or a
         near-tie at the edge of the list (R-TRACE-040's rule)
  top-1  the implementation's argmax is the reference's wherever the reference's margin is
         safe for the type's tolerance (R-LEVEL-021)

The reference runs alongside (`<build>/ggufref serve`); one process of each for the module.
Needs the capabilities `logits` and `evaluate`.
"""
import os

import numpy as np
import pytest

from ggufref_harness import fixtures, paths, spec, tracefmt
from ggufref_harness.spec import logits_from_hex
from ggufref_harness.wire import Server

PROMPT = "Once upon a time, in a quiet village"
N_TOKENS = 16
TOP_K = 4

MODELS = [m for m in fixtures.manifest() if os.path.isfile(fixtures.path_of(m["name"]))]


class Pair:
    def __init__(self, impl):
        self.impl = Server(impl)
        self.impl.request("boot").expect_ok()
        ref_cmd = paths.reference_command()
        self.ref = Server(ref_cmd) if os.path.isfile(
            os.path.join(paths.build_dir() or "", "ggufref")) else None
        if self.ref is not None:
            self.ref.request("boot").expect_ok()

    def close(self):
        for s in (self.impl, self.ref):
            if s is not None:
                s.close()


@pytest.fixture(scope="module")
def pair(impl, caps):
    if not {"logits", "evaluate"} <= caps:
        yield None
        return
    p = Pair(impl)
    yield p
    p.close()


def _evaluate(server, tokens):
    r = server.request("evaluate", tokens=tokens, logits=TOP_K, logits_full=True)
    res = r.expect_ok()
    return [logits_from_hex(p["logits_hex"]).astype(np.float64) for p in res["positions"]], \
        [p.get("top") for p in res["positions"]]


@pytest.mark.req("R-LEVEL-020", "R-LEVEL-021", "R-PROTO-027", "R-PROTO-030")
@pytest.mark.cap("logits", "evaluate")
@pytest.mark.parametrize("model", MODELS, ids=[m["name"] for m in MODELS])
def test_logits_within_the_type_tolerance(pair, model):
    if pair is None or pair.ref is None:
        pytest.skip("not run: no reference build to compare with (GGUFREF_BUILD_DIR)")
    tol = spec.type_tolerance([model["type"]])
    path = fixtures.path_of(model["name"])
    for s in (pair.ref, pair.impl):
        s.request("load-model", path=path).expect_ok()
    pair.ref.request("configure-sampling", max_tokens=N_TOKENS, stop_at_eos=False).expect_ok()
    g = pair.ref.request("generate", prompt=PROMPT).expect_ok()
    seq = g["prompt_tokens"] + g["tokens"][:-1]
    want, want_top = _evaluate(pair.ref, seq)
    got, got_top = _evaluate(pair.impl, seq)
    assert len(got) == len(want), "R-PROTO-027: %d positions for %d tokens" % (len(got),
                                                                                len(want))
    problems = []
    worst = 0.0
    for i, (a, b) in enumerate(zip(got, want)):
        if a.shape != b.shape:
            problems.append("R-PROTO-027: position %d has %d logits, want %d" % (
                i, a.size, b.size))
            break
        nmse = float(np.sum((a - b) ** 2) / max(np.sum(b ** 2), 1e-300))
        worst = max(worst, nmse)
        if not nmse <= tol["nmse"]:
            problems.append("R-LEVEL-020: position %d: NMSE %.3g > %.3g (%s)" % (
                i, nmse, tol["nmse"], model["type"]))
        problems += ["R-LEVEL-020: " + p for p in tracefmt._compare_top(
            want_top[i], got_top[i], "tolerant", tol, "position %d top" % i)]
        order = np.lexsort((np.arange(b.size), -b))
        gap = float(b[order[0]] - b[order[1]])
        t = tol["abs"] + tol["rel"] * float(np.max(np.abs(b)))
        amax = int(np.lexsort((np.arange(a.size), -a))[0])
        if tracefmt.margin_is_safe(gap, None, t, 0) and amax != int(order[0]):
            problems.append("R-LEVEL-021: position %d: argmax %d, the reference's %d "
                            "(margin %.3g > 2 x %.3g)" % (i, amax, int(order[0]), gap, t))
    print("%s (%s): %d positions, worst NMSE %.3g" % (model["name"], model["type"], len(got),
                                                      worst))
    if problems:
        raise tracefmt.TraceFailure("%s (%s), %d positions:\n  %s" % (
            model["name"], model["type"], len(got), "\n  ".join(problems[:12])),
            sorted({p.split(":")[0] for p in problems}))
