#!/usr/bin/env python3
"""Calibration of llama.cpp's logits against the reference's, per fixture (tensor type), for the
tolerance table of SPEC (issue 10: "tolerances per tensor type ... calibrated by measurement").

For every fixture and each of the golden prompts (golden/tracegen/golden.py PROMPTS), the
reference decodes greedily (up to --tokens tokens); the whole sequence (BOS, prompt, generated
ids) then goes through `evaluate` (R-PROTO-027, teacher forcing: both implementations see the
same ids) on the reference and on llama.cpp (harness/impls/llamacpp/adapter.mjs), with the full
logits vector at every position. Per position, with b the reference's vector and a llama.cpp's:

  nmse     sum (a - b)^2 / sum b^2            (the whole n_vocab vector; test-backend-ops' metric)
  top_abs  max |a_i - b_i| over the reference's top-4 ids
  agree    argmax a == argmax b               (lowest id on ties, as R-SAMP-013)
  margin   b's top-1 minus top-2 value        (how much error a greedy token can take)

The table gives, per fixture: positions, NMSE median and max, top-logit |diff| max, top-1
agreement, the reference's smallest margin, and the largest reference margin at which top-1
disagreed ("flip margin": a tolerance must exceed it for token agreement to be demanded only
where the margin is larger).

    /usr/bin/python3 harness/impls/llamacpp/calibrate.py [--ref "build/X/ggufref serve"]
        [--kv F32|F16|both] [--tokens 24] [--json FILE] [MODEL.gguf ...]

Default models: golden/models/*.gguf, then <build>/fixtures/stories260K-f32.v3.gguf and
stories15m-*.gguf when they exist. Runs in about a minute on the tiny fixtures.
"""
import argparse
import glob
import json
import os
import shlex
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "harness"))
from ggufref_harness import paths  # noqa: E402
sys.path.insert(0, ROOT)
from golden.tracegen.golden import PROMPTS  # noqa: E402


class Impl:
    """A protocol server; request() returns the final event (token events dropped)."""

    def __init__(self, command, env=None):
        self.p = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
                                  env=env)
        self.n = 0

    def request(self, cmd, **fields):
        self.n += 1
        self.p.stdin.write((json.dumps(dict(id=self.n, cmd=cmd, **fields)) + "\n").encode())
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline()
            if not line:
                raise RuntimeError("server exited during %s" % cmd)
            ev = json.loads(line)
            if ev.get("id") == self.n and ev.get("event") in ("result", "error"):
                return ev

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def vec(hexstr):
    return np.frombuffer(bytes.fromhex(hexstr), dtype=">u4").astype("<u4").view("<f4")


def evaluate(impl, tokens):
    ev = impl.request("evaluate", tokens=tokens, logits_full=True)
    if ev["event"] != "result":
        raise RuntimeError(ev["error"]["message"])
    return [vec(p["logits_hex"]) for p in ev["positions"]]


def argmax(x):
    return int(np.argmax(x))  # first (lowest id) maximum


def measure(ref, lcpp, model, n_tokens):
    out = {"nmse": [], "top_abs": [], "agree": [], "margin": []}
    for impl in (ref, lcpp):
        ev = impl.request("load-model", path=model)
        if ev["event"] != "result":
            return {"error": "%s: %s" % ("reference" if impl is ref else "llama.cpp",
                                         ev["error"]["message"][:160])}
    for prompt in PROMPTS.values():
        ref.request("configure-sampling", max_tokens=1, stop_at_eos=False)
        probe = ref.request("generate", prompt=prompt)
        n_ctx_left = 96 if "tiny" in model else 256
        k = max(1, min(n_tokens, n_ctx_left - probe["n_prompt"] - 1))
        ref.request("configure-sampling", max_tokens=k, stop_at_eos=False)
        gen = ref.request("generate", prompt=prompt)
        if gen["event"] != "result":
            continue
        seq = gen["prompt_tokens"] + gen["tokens"]
        for b, a in zip(evaluate(ref, seq), evaluate(lcpp, seq)):
            b64, a64 = b.astype(np.float64), a.astype(np.float64)
            out["nmse"].append(float(np.sum((a64 - b64) ** 2) / np.sum(b64 ** 2)))
            order = sorted(range(len(b)), key=lambda i: (-b[i], i))
            out["top_abs"].append(float(np.max(np.abs(a64[order[:4]] - b64[order[:4]]))))
            out["agree"].append(argmax(a) == argmax(b))
            out["margin"].append(float(b[order[0]] - b[order[1]]))
    n = len(out["nmse"])
    flips = [m for m, ok in zip(out["margin"], out["agree"]) if not ok]
    return {"positions": n, "nmse_median": float(np.median(out["nmse"])),
            "nmse_max": float(np.max(out["nmse"])), "top_abs_max": float(np.max(out["top_abs"])),
            "top1_agree": sum(out["agree"]) / n, "disagree": n - sum(out["agree"]),
            "margin_min": float(np.min(out["margin"])),
            "flip_margin_max": float(max(flips)) if flips else None}


def type_of(path):
    name = os.path.basename(path)
    for t in ("f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q2_k", "q3_k",
              "q4_k", "q5_k", "q6_k"):
        if "-%s" % t in name.lower() or "_%s" % t in name.lower():
            return t.upper()
    return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", default=None)
    ap.add_argument("--lcpp", default="node %s" % os.path.join(HERE, "adapter.mjs"))
    ap.add_argument("--kv", default="both", choices=("F32", "F16", "both"))
    ap.add_argument("--tokens", type=int, default=24)
    ap.add_argument("--json", default=None)
    ap.add_argument("models", nargs="*")
    args = ap.parse_args()
    build = paths.build_dir()
    ref_cmd = args.ref or "%s serve" % os.path.join(build, "ggufref")
    models = args.models or (
        sorted(glob.glob(os.path.join(ROOT, "golden", "models", "tiny-*.gguf"))) +
        [p for p in [os.path.join(build, "fixtures", "stories260K-f32.v3.gguf")] +
         sorted(glob.glob(os.path.join(build, "fixtures", "stories15m-*.gguf")))
         if os.path.isfile(p)])
    kvs = ["F32", "F16"] if args.kv == "both" else [args.kv]
    ref = Impl(ref_cmd)
    rows = []
    for kv in kvs:
        lcpp = Impl(args.lcpp, env=dict(os.environ, GGUFREF_LCPP_KV=kv))
        for model in models:
            r = measure(ref, lcpp, model, args.tokens)
            r.update(model=os.path.relpath(model, ROOT) if model.startswith(ROOT) else model,
                     type=type_of(model), kv=kv)
            rows.append(r)
            print(json.dumps(r), file=sys.stderr)
        lcpp.close()
    ref.close()
    print("| fixture | type | KV | positions | NMSE median | NMSE max | top-4 \\|diff\\| max | "
          "top-1 agree | ref margin min | flip margin max |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        name = os.path.basename(r["model"]).replace(".gguf", "")
        if "error" in r:
            print("| %s | %s | %s | refused: %s |||||||" % (name, r["type"], r["kv"], r["error"]))
            continue
        print("| %s | %s | %s | %d | %.2e | %.2e | %.2e | %.4f (%d off) | %.2e | %s |" % (
            name, r["type"], r["kv"], r["positions"], r["nmse_median"], r["nmse_max"],
            r["top_abs_max"], r["top1_agree"], r["disagree"], r["margin_min"],
            "%.3g" % r["flip_margin_max"] if r["flip_margin_max"] is not None else "-"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
