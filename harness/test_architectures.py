"""Greedy agreement on the architecture fixtures (SPEC R-MODEL-020..026, R-NUM-026..029; the
divergence rules of R-LEVEL-020/021), core level.

For each fixture of another architecture than plain llama (manifest "arch" qwen2 / qwen3, or
"rope_freqs": Llama 3.1 divisors), the reference decodes greedily from BOS, far enough that
rope_freqs changes the tokens (96 steps: a runtime that ignores the tensor first differs at step
62, conformance/torture_forward.c test_rope_freqs_change_tokens_late); both the reference and
the implementation then evaluate that sequence (teacher forcing, R-PROTO-027) with full logits.
Per position: NMSE within the type's tolerance, and the implementation's argmax equal to the
reference's wherever the reference's top-1/top-2 margin is safe for that tolerance; a
different argmax at an unsafe margin is a legitimate divergence, counted and reported.

The reference runs alongside (`<build>/ggufref serve`); one process of each for the module.
Needs the capabilities `logits` and `evaluate`. Against llama.cpp this is the check of issue 12
"greedy agreement with llama.cpp per family and type" (tools/test-all.sh stage L runs it).
"""
import os

import numpy as np
import pytest

from ggufref_harness import fixtures, paths, spec, tracefmt
from ggufref_harness.spec import logits_from_hex
from ggufref_harness.wire import Server

LONG_TOKENS = 96   # rope_freqs fixtures
TOKENS = 48        # qwen2 / qwen3

MODELS = [m for m in fixtures.manifest()
          if (m.get("arch", "llama") != "llama" or m.get("rope_freqs"))
          and os.path.isfile(fixtures.path_of(m["name"]))]


@pytest.fixture(scope="module")
def servers(impl, caps):
    if not {"logits", "evaluate"} <= caps:
        yield None
        return
    if not os.path.isfile(os.path.join(paths.build_dir() or "", "ggufref")):
        yield None
        return
    both = (Server(impl), Server(paths.reference_command()))
    for s in both:
        s.request("boot").expect_ok()
    yield both
    for s in both:
        s.close()


def _evaluate(server, tokens):
    res = server.request("evaluate", tokens=tokens, logits=0, logits_full=True).expect_ok()
    return [logits_from_hex(p["logits_hex"]).astype(np.float64) for p in res["positions"]]


def test_architecture_fixtures_exist():
    """The manifest lists every family in F32 and a quantized type (issue 12)."""
    have = {(m.get("arch", "llama") + ("+rope_freqs" if m.get("rope_freqs") else ""),
             m["type"] == "F32") for m in MODELS}
    for fam in ("llama+rope_freqs", "qwen2", "qwen3"):
        assert (fam, True) in have and (fam, False) in have, "missing %s fixtures" % fam


@pytest.mark.req("R-MODEL-020", "R-MODEL-021", "R-MODEL-023", "R-MODEL-024", "R-MODEL-025",
                 "R-NUM-026", "R-NUM-027", "R-NUM-028", "R-NUM-029", "R-LEVEL-021")
@pytest.mark.cap("logits", "evaluate")
@pytest.mark.parametrize("model", MODELS, ids=[m["name"] for m in MODELS])
def test_greedy_agreement_per_architecture(servers, model):
    if servers is None:
        pytest.skip("not run: needs logits + evaluate and a reference build (GGUFREF_BUILD_DIR)")
    impl, ref = servers
    tol = spec.type_tolerance([model["type"]])
    path = fixtures.path_of(model["name"])
    for s in (ref, impl):
        s.request("load-model", path=path).expect_ok()
    n = LONG_TOKENS if model.get("rope_freqs") else TOKENS
    ref.request("configure-sampling", max_tokens=n, stop_at_eos=False).expect_ok()
    g = ref.request("generate", prompt="").expect_ok()
    seq = g["prompt_tokens"] + g["tokens"][:-1]
    assert len(seq) == n, "the reference generated %d tokens, want %d" % (len(seq), n)
    want, got = _evaluate(ref, seq), _evaluate(impl, seq)
    assert len(got) == len(want), "R-PROTO-027: %d positions for %d tokens" % (len(got), len(want))
    problems, required, divergent, worst = [], 0, [], 0.0
    for i, (a, b) in enumerate(zip(got, want)):
        nmse = float(np.sum((a - b) ** 2) / max(np.sum(b ** 2), 1e-300))
        worst = max(worst, nmse)
        if not nmse <= tol["nmse"]:
            problems.append("R-LEVEL-020: position %d: NMSE %.3g > %.3g" % (i, nmse, tol["nmse"]))
        order = np.lexsort((np.arange(b.size), -b))
        gap = float(b[order[0]] - b[order[1]])
        t = tol["abs"] + tol["rel"] * float(np.max(np.abs(b)))
        amax = int(np.lexsort((np.arange(a.size), -a))[0])
        if tracefmt.margin_is_safe(gap, None, t, 0):
            required += 1
            if amax != int(order[0]):
                problems.append("R-LEVEL-021: position %d: argmax %d, the reference's %d (margin "
                                "%.3g, safe for %s)" % (i, amax, int(order[0]), gap, model["type"]))
        elif amax != int(order[0]):
            divergent.append(i)
    print("%s (%s, %s%s): %d positions, %d with a safe margin, all agree: %s; legitimate "
          "divergences at %s; worst NMSE %.3g" % (
              model["name"], model.get("arch", "llama"), model["type"],
              ", rope_freqs" if model.get("rope_freqs") else "", len(got), required,
              "no" if problems else "yes", divergent or "none", worst))
    if problems:
        raise tracefmt.TraceFailure("%s (%s), %d positions:\n  %s" % (
            model["name"], model["type"], len(got), "\n  ".join(problems[:12])),
            sorted({p.split(":")[0] for p in problems}))
