"""External goldens: llama2.c's published outputs for stories260K (../shared/material/goldens),
a real trained model. Skipped (not run) when the shared material is absent."""
import json
import os

import pytest

from ggufref_harness import paths

SHARED = paths.shared_dir()
MATERIAL = os.path.join(SHARED, "material") if SHARED else None
MODEL = os.path.join(MATERIAL, "stories260K-f32.v1.gguf") if MATERIAL else None
GOLDENS = os.path.join(MATERIAL, "goldens", "stories260K_llama2c_goldens.json") \
    if MATERIAL else None


def _goldens():
    if not GOLDENS or not os.path.isfile(GOLDENS) or not os.path.isfile(MODEL):
        return []
    with open(GOLDENS, encoding="utf-8") as f:
        return json.load(f)


CASES = _goldens()


@pytest.mark.skipif(not CASES, reason="shared material (stories260K goldens) absent; set "
                                      "GGUFREF_SHARED_DIR")
@pytest.mark.req("R-SAMP-020", "R-RNG-001", "R-RNG-002", "R-RNG-003", "R-TOK-021",
                 "R-RT-023", "R-RT-041", "R-PROTO-023")
@pytest.mark.level("sampler-llama2c")
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_llama2c_published_output(booted, case):
    """`run -t T -p P -s S -n STEPS -i PROMPT`: prompt tokens are forced, -n counts positions
    (BOS at position 0), the text is the prompt's pieces then the generated ones, no stop at
    EOS within these runs."""
    s = booted
    s.request("load-model", path=MODEL).expect_ok()
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
