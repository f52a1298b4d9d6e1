"""External goldens: llama2.c's published outputs for stories260K (../shared/material/goldens),
a real trained model. Each case runs on the GGUF v3 copy the build makes with the project's
converter (`<build>/fixtures/stories260K-f32.v3.gguf`, tools/gguf_v1_to_v3.py), which every
implementation reads, and on the published v1 file itself for implementations that read GGUF v1
(one that rejects v1 cleanly gets "not applicable" there: reading v1 is judged by
test_edge_fixtures.py). Greedy cases are `core`; sampled ones `sampler-llama2c` (R-LEVEL-001).
Not run when the shared material is absent."""
import json
import os

import pytest

from ggufref_harness import paths
from ggufref_harness.wire import Server

SHARED = paths.shared_dir()
MATERIAL = os.path.join(SHARED, "material") if SHARED else None
MODEL_V1 = os.path.join(MATERIAL, "stories260K-f32.v1.gguf") if MATERIAL else None
MODEL_V3 = os.path.join(paths.build_dir() or "", "fixtures", "stories260K-f32.v3.gguf")
GOLDENS = os.path.join(MATERIAL, "goldens", "stories260K_llama2c_goldens.json") \
    if MATERIAL else None


def _goldens():
    if not GOLDENS or not os.path.isfile(GOLDENS) or not os.path.isfile(MODEL_V1):
        return []
    with open(GOLDENS, encoding="utf-8") as f:
        return json.load(f)


CASES = _goldens()


@pytest.fixture(scope="module")
def shared_server(impl):
    """One process for the module (R-LEVEL-050): each case loads its model again."""
    s = Server(impl)
    s.request("boot").expect_ok()
    yield s
    s.close()


def _params():
    for c in CASES:
        for form in ("v3", "v1"):
            marks = []
            if c.get("temperature"):
                marks.append(pytest.mark.level("sampler-llama2c"))
            yield pytest.param(c, form, marks=marks, id="%s-%s" % (c["id"], form))


@pytest.mark.skipif(not CASES, reason="shared material (stories260K goldens) absent; set "
                                      "GGUFREF_SHARED_DIR")
@pytest.mark.req("R-SAMP-020", "R-RNG-001", "R-RNG-002", "R-RNG-003", "R-TOK-021",
                 "R-RT-023", "R-RT-041", "R-PROTO-023")
@pytest.mark.parametrize("case,form", list(_params()))
def test_llama2c_published_output(shared_server, case, form):
    """`run -t T -p P -s S -n STEPS -i PROMPT`: prompt tokens are forced, -n counts positions
    (BOS at position 0), the text is the prompt's pieces then the generated ones, no stop at
    EOS within these runs."""
    s = shared_server
    if form == "v3":
        if not os.path.isfile(MODEL_V3):
            pytest.skip("not run: %s not built (target fixtures-stories260k-v3)" % MODEL_V3)
        s.request("load-model", path=MODEL_V3).expect_ok()
    else:
        r = s.request("load-model", path=MODEL_V1)
        if not r.ok:
            pytest.skip("not applicable: the implementation does not read GGUF v1 (%s)" %
                        (r.error or {}).get("name"))
    settings = {"temperature": case["temperature"], "stop_at_eos": False, "max_tokens": 1}
    if case.get("topp") is not None:
        settings["top_p"] = case["topp"]
    if case.get("seed") is not None:
        settings["seed"] = case["seed"]
    s.request("configure-sampling", **settings).expect_ok()
    probe = s.request("generate", prompt=case["prompt"]).expect_ok()
    n_prompt = probe["n_prompt"]
    # run.c prints the piece of the token after every position 0..steps-1: n_prompt - 1
    # prompt pieces (BOS has none), then the generated ones
    settings["max_tokens"] = case["steps"] - (n_prompt - 1)
    s.request("configure-sampling", **settings).expect_ok()
    res = s.request("generate", prompt=case["prompt"]).expect_ok()
    got = case["prompt"].encode("utf-8") + bytes.fromhex(res["text_hex"])
    want = case["text"].encode("utf-8")
    if got != want:
        n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got),
                                                                                  len(want)))
        raise AssertionError("%s: text differs from llama2.c's at byte %d\n want ...%r\n "
                             "got  ...%r" % (case["id"], n, want[max(0, n - 40):n + 40],
                                             got[max(0, n - 40):n + 40]))
