"""The golden-trace generator (SPEC R-TRACE-030, R-TRACE-050, R-TRACE-051).

Runs the reference over a matrix of cases and writes one trace per case into golden/traces/,
plus INDEX.json. Every generate asks for the top logits (K = TOP_K) and, while generating, for
the full logits too (`logits_full`), from which the per-token margins are computed; the full
vectors are never stored. A case with a margin the tolerance could cross is shortened to end
before that token (matrix cases, when at least MIN_TOKENS remain) or dropped.

    python3 tools/golden_traces.py            # regenerate golden/traces
    python3 tools/golden_traces.py --check    # regenerate into a temporary folder, compare
"""
import json
import os
import sys

from ggufref_harness import fixtures, spec, tracefmt
from ggufref_harness.paths import ROOT
from ggufref_harness.wire import Server

from . import margins

TOP_K = 4
MIN_TOKENS = 3
MODEL_DIR = "golden/models"

PROMPTS = {
    "empty": "",
    "long": ("Once upon a time, in a quiet village by the sea, there lived an old fisherman "
             "who told stories to the children."),
    "non-ascii": "h\u00e9llo w\u00f6rld, \u00e7a va? na\u00efve caf\u00e9",
    "byte-fallback": "\u65e5\u672c \U0001f999 \u0007 ok",
}

SAMPLERS = {
    "temperature": {"temperature": 0.8},
    "low-temperature": {"temperature": 0.05},
    "top-k": {"temperature": 1.0, "top_k": 5},
    "top-p": {"temperature": 1.0, "top_p": 0.9},
    "min-p": {"temperature": 1.0, "min_p": 0.1},
    "repetition-penalty": {"temperature": 0.7, "repeat_penalty": 1.3, "repeat_last_n": 16},
    "penalty-greedy": {"repeat_penalty": 1.5, "repeat_last_n": 8},
    "combined": {"temperature": 0.7, "top_k": 20, "top_p": 0.95, "min_p": 0.05,
                 "repeat_penalty": 1.1},
}
SEEDS = [1, 42, "9223372036854775813"]
SAMPLER_MODELS = ["tiny-f32-mha-untied", "tiny-q4_k-gqa-tied", "tiny-q8_0-gqa-untied"]

# Requirement IDs a case checks, by what it varies.
REQ_ALWAYS = ["R-TRACE-031", "R-PROTO-023", "R-PROTO-030", "R-PROTO-031", "R-RT-023"]
REQ_PROMPT = {"empty": ["R-TOK-012", "R-TOK-015"], "long": ["R-TOK-013", "R-TOK-014"],
              "non-ascii": ["R-TOK-011", "R-TOK-014", "R-TOK-020"],
              "byte-fallback": ["R-TOK-011", "R-TOK-014", "R-TOK-020"]}
# The same prompts on the byte-level BPE fixture (manifest "tokenizer": "gpt2", SPEC 5.2).
REQ_PROMPT_BPE = {"empty": ["R-TOK-042"], "long": ["R-TOK-032", "R-TOK-035", "R-TOK-039"],
                  "non-ascii": ["R-TOK-031", "R-TOK-039", "R-TOK-046"],
                  "byte-fallback": ["R-TOK-031", "R-TOK-039", "R-TOK-046"]}
# The architecture fixtures (manifest "arch" / "rope_freqs", SPEC R-MODEL-020..026).
def req_arch(m):
    if m.get("arch") == "qwen2":
        return ["R-MODEL-020", "R-MODEL-023", "R-NUM-026", "R-NUM-027"]
    if m.get("arch") == "qwen3":
        return ["R-MODEL-020", "R-MODEL-024", "R-MODEL-025", "R-NUM-026", "R-NUM-028"]
    return ["R-MODEL-021", "R-NUM-029"] if m.get("rope_freqs") else []


# Greedy tokens this far from BOS: rope_freqs changes the tiny Llama 3 fixture's tokens only
# after 62 steps (conformance/torture_forward.c test_rope_freqs_change_tokens_late).
LONG_CONTEXT_TOKENS = 96

REQ_SAMPLER = {
    "greedy": ["R-SAMP-010", "R-SAMP-013"],
    "low-temperature": ["R-SAMP-014", "R-SAMP-015", "R-SAMP-016", "R-SAMP-030", "R-RNG-001"],
    "temperature": ["R-SAMP-014", "R-SAMP-015", "R-SAMP-016", "R-SAMP-030", "R-RNG-001",
                    "R-RNG-002", "R-RNG-003"],
    "top-k": ["R-SAMP-017", "R-SAMP-018", "R-SAMP-030", "R-RNG-001"],
    "top-p": ["R-SAMP-017", "R-SAMP-018", "R-SAMP-030", "R-RNG-001"],
    "min-p": ["R-SAMP-017", "R-SAMP-018", "R-SAMP-030", "R-RNG-001"],
    "repetition-penalty": ["R-SAMP-011", "R-SAMP-030", "R-RNG-001"],
    "penalty-greedy": ["R-SAMP-011", "R-SAMP-013"],
    "combined": ["R-SAMP-010", "R-SAMP-011", "R-SAMP-017", "R-SAMP-018", "R-SAMP-030",
                 "R-RNG-001"],
}


def rel_model(name):
    return "%s/%s.gguf" % (MODEL_DIR, name)


class Case:
    """One trace to generate: a list of steps, each a command, a list of commands (one write)
    or a raw line. `max_tokens` (matrix cases) may be lowered to shorten an unsafe case."""

    def __init__(self, name, description, requirements, steps, settings, max_tokens=None,
                 requires=()):
        self.name = name
        self.description = description
        self.requirements = sorted(set(requirements))
        self.steps = steps          # callable(max_tokens) -> list of step specs, or a list
        self.settings = settings
        self.max_tokens = max_tokens
        self.requires = list(requires)

    def build(self, max_tokens):
        return self.steps(max_tokens) if callable(self.steps) else self.steps


def _with_ids(steps):
    """Give every command a sequential integer id, in order."""
    n = 0
    out = []
    for st in steps:
        if "raw" in st:
            out.append(st)
            continue
        cmds = st["send"] if isinstance(st["send"], list) else [st["send"]]
        fixed = []
        for c in cmds:
            c = dict(c)
            if "id" not in c:
                n += 1
                c = dict([("id", n)] + list(c.items()))
            fixed.append(c)
        out.append({"send": fixed if isinstance(st["send"], list) else fixed[0]})
    return out


def cmd(name, **fields):
    d = {"cmd": name}
    d.update(fields)
    return {"send": d}


# ---- the matrix -------------------------------------------------------------------------------

def model_prompt_cases():
    """Every fixture model x every prompt, greedy."""
    for m in fixtures.manifest():
        for pname, prompt in PROMPTS.items():
            def steps(k, m=m, prompt=prompt):
                return [cmd("boot"), cmd("load-model", path=rel_model(m["name"])),
                        cmd("configure-sampling", max_tokens=k, stop_at_eos=False),
                        cmd("generate", prompt=prompt, logits=TOP_K)]
            yield Case("model-%s-%s" % (m["name"], pname),
                       "greedy decoding of the %s prompt with %s (%s, %s heads / %s kv heads, "
                       "%s)" % (pname, m["name"], m["type"], m["n_heads"], m["n_kv_heads"],
                                "tied" if m["tied"] else "untied"),
                       REQ_ALWAYS + (REQ_PROMPT_BPE if m.get("tokenizer") == "gpt2" else REQ_PROMPT)[pname]
                       + REQ_SAMPLER["greedy"] + req_arch(m), steps,
                       {"model": m["name"], "type": m["type"], "prompt": pname,
                        "sampler": "greedy"}, max_tokens=8)


def sampler_cases():
    """Sampler settings x seeds on three models."""
    for mname in SAMPLER_MODELS:
        for sname, settings in SAMPLERS.items():
            seeds = SEEDS if settings.get("temperature", 0) > 0 else SEEDS[:1]
            for seed in seeds:
                def steps(k, mname=mname, settings=settings, seed=seed):
                    return [cmd("boot"), cmd("load-model", path=rel_model(mname)),
                            cmd("configure-sampling", seed=seed, max_tokens=k,
                                stop_at_eos=False, **settings),
                            cmd("generate", prompt="Once upon a time", logits=TOP_K)]
                yield Case("sampler-%s-%s-seed%s" % (sname, mname, seed),
                           "%s sampling %s, seed %s, with %s" % (sname, settings, seed, mname),
                           REQ_ALWAYS + REQ_SAMPLER[sname] + ["R-PROTO-022"], steps,
                           {"model": mname, "sampler": sname, "seed": seed}, max_tokens=10)


def sequence_cases():
    """State-machine sequences on the primary fixture."""
    a, b = rel_model(fixtures.PRIMARY), rel_model(fixtures.SECONDARY)
    g = lambda prompt, **kw: cmd("generate", prompt=prompt, logits=TOP_K, **kw)  # noqa: E731
    nxt = lambda: cmd("generate-next-token", logits=TOP_K)  # noqa: E731
    small = cmd("configure-sampling", max_tokens=4, stop_at_eos=False)
    yield Case("seq-reset", "reset clears the request; the same prompt gives the same tokens; "
               "next-token after a reset is INVALID_STATE",
               ["R-RT-027", "R-RT-024", "R-RT-005", "R-PROTO-025", "R-TRACE-031"],
               [cmd("boot"), cmd("load-model", path=a), small, g("abc"), cmd("diagnostics"),
                cmd("reset-context"), cmd("diagnostics"), nxt(), g("abc"), cmd("diagnostics")],
               {"sequence": "reset"}, requires=["step"])
    yield Case("seq-replace-model", "load B over A clears the request; a rejected load keeps B "
               "(transactional); free then generate is MODEL_NOT_LOADED",
               ["R-RT-010", "R-RT-011", "R-RT-006", "R-RT-028", "R-PROTO-021", "R-TRACE-031"],
               [cmd("boot"), cmd("load-model", path=a), small, g("The"), cmd("load-model",
                                                                             path=b),
                cmd("diagnostics"), g("The"), cmd("load-model", path="golden/models/manifest.json"),
                cmd("diagnostics"), g("The"), cmd("free-model"), g("The"), cmd("diagnostics"),
                cmd("load-model", path=a), g("The")],
               {"sequence": "replace-model"})
    yield Case("seq-continuation", "generate 3 then 5 next-token equals generate 8, greedy",
               ["R-RT-024", "R-PROTO-024", "R-TRACE-031"],
               [cmd("boot"), cmd("load-model", path=a),
                cmd("configure-sampling", max_tokens=8, stop_at_eos=False), g("xyz"),
                cmd("configure-sampling", max_tokens=3, stop_at_eos=False), g("xyz"),
                nxt(), nxt(), nxt(), nxt(), nxt(), cmd("diagnostics")],
               {"sequence": "continuation"}, requires=["step"])
    yield Case("seq-continuation-sampled", "sampled: the RNG continues across next-token",
               ["R-RT-024", "R-SAMP-030", "R-RNG-001", "R-PROTO-024", "R-TRACE-031"],
               [cmd("boot"), cmd("load-model", path=a),
                cmd("configure-sampling", temperature=0.9, seed=7, max_tokens=6,
                    stop_at_eos=False), g("pq"),
                cmd("configure-sampling", temperature=0.9, seed=7, max_tokens=2,
                    stop_at_eos=False), g("pq"), nxt(), nxt(), nxt(), nxt()],
               {"sequence": "continuation-sampled"}, requires=["step"])
    n_ctx = fixtures.entry(fixtures.PRIMARY)["n_ctx"] if fixtures.manifest() else 96
    yield Case("seq-context-overflow", "prompt + max_tokens past n_ctx is CONTEXT_OVERFLOW "
               "before anything changes; a request that fills the context exactly works and "
               "next-token then overflows",
               ["R-RT-022", "R-RT-006", "R-TRACE-031"],
               [cmd("boot"), cmd("load-model", path=a), small, g("ok"),
                cmd("configure-sampling", max_tokens=n_ctx, stop_at_eos=False), g("ok"),
                cmd("diagnostics"),
                cmd("configure-sampling", max_tokens=n_ctx - 2, stop_at_eos=False),
                g("ok"), nxt(), cmd("diagnostics")],
               {"sequence": "context-overflow", "n_ctx": n_ctx}, requires=["step"])
    yield Case("seq-cancel", "a cancel in the same write as its generate stops it after one "
               "token; the request continues with next-token; a late cancel is harmless",
               ["R-PROTO-040", "R-PROTO-041", "R-RT-025", "R-TRACE-031"],
               [cmd("boot"), cmd("load-model", path=a),
                cmd("configure-sampling", max_tokens=20, stop_at_eos=False),
                {"send": [{"id": "g1", "cmd": "generate", "prompt": "stop", "logits": TOP_K},
                          {"id": "c1", "cmd": "cancel", "target": "g1"}]},
                cmd("diagnostics"), nxt(), cmd("cancel", target="g1"), cmd("diagnostics")],
               {"sequence": "cancel"}, requires=["cancel", "step"])
    yield Case("seq-errors", "protocol and ordering errors: each answered, nothing changed",
               ["R-PROTO-005", "R-PROTO-007", "R-PROTO-008", "R-PROTO-010", "R-RT-005",
                "R-RT-006", "R-RT-007", "R-TRACE-031"],
               [cmd("boot"), {"raw": "{not json"}, cmd("no-such-command"),
                cmd("generate", prompt="early"), cmd("generate-next-token"),
                cmd("load-model"), cmd("load-model", path=a), cmd("generate-next-token"),
                cmd("configure-sampling", top_p=0), cmd("diagnostics"),
                cmd("configure-sampling", max_tokens=3, stop_at_eos=False), g("fine"),
                cmd("configure-sampling", temperature=-1), cmd("generate-next-token"),
                cmd("reset-context"), cmd("diagnostics")],
               {"sequence": "errors"}, requires=["step"])


def long_context_cases():
    """The rope_freqs fixtures, greedy from BOS far enough that the divisors matter."""
    for m in fixtures.manifest():
        if not m.get("rope_freqs"):
            continue
        def steps(k, m=m):
            return [cmd("boot"), cmd("load-model", path=rel_model(m["name"])),
                    cmd("configure-sampling", max_tokens=k, stop_at_eos=False),
                    cmd("generate", prompt="", logits=TOP_K)]
        yield Case("model-%s-long-context" % m["name"],
                   "greedy decoding of %d tokens from BOS with %s (%s): past the position where "
                   "rope_freqs.weight changes the tokens" % (LONG_CONTEXT_TOKENS, m["name"],
                                                             m["type"]),
                   REQ_ALWAYS + REQ_PROMPT["empty"] + REQ_SAMPLER["greedy"] + req_arch(m), steps,
                   {"model": m["name"], "type": m["type"], "prompt": "empty",
                    "sampler": "greedy"}, max_tokens=LONG_CONTEXT_TOKENS)


def all_cases():
    return (list(model_prompt_cases()) + list(sampler_cases()) + list(sequence_cases())
            + list(long_context_cases()))


# ---- running a case ---------------------------------------------------------------------------

class _Margins:
    """Follows sampling settings, history and RNG through a session (R-TRACE-050)."""

    def __init__(self, tol):
        self.tol = tol
        self.settings = {"temperature": 0.0, "repeat_penalty": 1.0, "repeat_last_n": 64,
                         "seed": 0}
        self.pending = None    # settings stored but not yet applied (next generate)
        self.rng = None
        self.history = []
        self.safe = True
        self.min_gap = None
        self.min_coin = None
        self.problems = []

    def configured(self, sampling):
        s = dict(sampling)
        if isinstance(s.get("seed"), str):
            s["seed"] = int(s["seed"])
        self.pending = s

    def request_start(self, prompt_tokens):
        if self.pending is not None:
            self.settings = self.pending
        self.rng = margins.Rng(int(self.settings.get("seed", 0)))
        self.history = list(prompt_tokens)

    def token(self, ev):
        """Margin of one token event (which must carry logits_hex): [gap, coin]."""
        x = margins.logits_from_hex(ev["logits_hex"])
        temp = float(self.settings.get("temperature", 0.0))
        coin = self.rng.coin() if temp > 0 else None
        pred, gap, coin_gap = margins.step_margin(x, self.settings, self.history, coin)
        tol_logit = margins.tolerance_in_logits(x, self.settings, self.tol)
        if pred != ev["token"]:
            self.problems.append("margin model predicts %d, reference chose %d" % (
                pred, ev["token"]))
            gap, coin_gap = 0.0, (0.0 if temp > 0 else None)
        ok = margins.is_safe(gap, coin_gap, tol_logit, temp)
        self.history.append(ev["token"])
        if gap is not None:
            self.min_gap = gap if self.min_gap is None else min(self.min_gap, gap)
        if coin_gap is not None:
            self.min_coin = coin_gap if self.min_coin is None else min(self.min_coin, coin_gap)
        return [_r(gap), _r(coin_gap)], ok


def _r(x):
    return None if x is None else float("%.4g" % x)


def run_case(case, impl, max_tokens=None):
    """Run a case against the reference. Returns (trace, index of the first unsafe token or
    None, problems)."""
    k = max_tokens or case.max_tokens
    steps = _with_ids(case.build(k))
    tol = dict(spec.TOLERANCE)
    mt = _Margins(tol)
    out_steps = []
    cmd_of = {}
    token_index = 0
    first_unsafe = None
    with Server(impl, cwd=ROOT) as s:
        for st in steps:
            if "raw" in st:
                s.send_raw(st["raw"])
                evs = [s.next_event()]
                out_steps.append({"send_raw": st["raw"],
                                  "expect": [tracefmt.normalize_event(e, cmd_of) for e in evs]})
                continue
            cmds = st["send"] if isinstance(st["send"], list) else [st["send"]]
            live = []
            for c in cmds:
                cmd_of[tracefmt._idkey(c["id"])] = c["cmd"]
                c2 = dict(c)
                if c["cmd"] in ("generate", "generate-next-token") and c.get("logits"):
                    c2["logits_full"] = True
                live.append(c2)
            s.send_raw("".join(json.dumps(c, separators=(",", ":"), ensure_ascii=False) + "\n"
                               for c in live))
            waiting = {tracefmt._idkey(c["id"]) for c in cmds}
            evs = []
            while waiting:
                ev = s.next_event()
                evs.append(ev)
                if ev["event"] in ("result", "error"):
                    waiting.discard(tracefmt._idkey(ev["id"]))
            # margins: needs the prompt tokens of a generate; a cancelled one has no result,
            # so ask diagnostics (observation only, R-RT-031) without recording it
            step_margins = []
            for c in cmds:
                final = [e for e in evs if e["id"] == c["id"] and e["event"] != "token"][0]
                toks = [e for e in evs if e["id"] == c["id"] and e["event"] == "token"]
                if c["cmd"] == "configure-sampling" and final["event"] == "result":
                    mt.configured(final["sampling"])
                if c["cmd"] == "generate" and (final["event"] == "result" or toks):
                    if final["event"] == "result":
                        prompt_tokens = final["prompt_tokens"]
                    else:
                        d = s.request("diagnostics").expect_ok()
                        prompt_tokens = d["tokens"][:d["n_prompt"]]
                    mt.request_start(prompt_tokens)
                if toks and "logits_hex" in toks[0]:
                    for e in toks:
                        m, ok = mt.token(e)
                        step_margins.append(m)
                        if not ok and first_unsafe is None:
                            first_unsafe = token_index
                        token_index += 1
            expect = []
            for e in evs:
                e = tracefmt.normalize_event(e, cmd_of)
                e.pop("logits_hex", None)
                expect.append(e)
            step = {"send": st["send"], "expect": expect}
            if step_margins:
                step["margins"] = step_margins
            out_steps.append(step)
    models = {}
    for st in out_steps:
        for c in (st.get("send") if isinstance(st.get("send"), list) else [st.get("send")]):
            if isinstance(c, dict) and c.get("cmd") == "load-model" and \
                    isinstance(c.get("path"), str) and c["path"].endswith(".gguf"):
                models[c["path"]] = tracefmt.sha256_file(os.path.join(ROOT, c["path"]))
    settings = dict(case.settings)
    if k is not None:
        settings["max_tokens"] = k
    header = {"format": spec.TRACE_FORMAT, "version": spec.TRACE_VERSION, "name": case.name,
              "description": case.description, "requires": case.requires,
              "requirements": case.requirements, "models": dict(sorted(models.items())),
              "tiers": ["exact", "tolerant"], "tolerance": tol, "settings": settings,
              "margin": {"gap": _r(mt.min_gap), "coin": _r(mt.min_coin)}}
    return tracefmt.Trace(header, out_steps), first_unsafe, mt.problems


def generate(impl, out_dir, log=sys.stderr):
    """Regenerate every golden trace into out_dir (files not in the new set are removed)."""
    os.makedirs(out_dir, exist_ok=True)
    index = {"format": "ggufref-golden-index", "version": 1, "generator": "tools/golden_traces.py",
             "tolerance": spec.TOLERANCE, "top_k": TOP_K, "traces": [], "dropped": []}
    written = set()
    for case in all_cases():
        trace, unsafe, problems = run_case(case, impl)
        for p in problems:
            print("golden: %s: %s" % (case.name, p), file=log)
        traces = [trace]
        if unsafe is not None:
            # R-TRACE-051: ambiguous within the tolerance: exact tier only; a shortened copy
            # ending before the first ambiguous token serves the tolerant tier
            trace.header["tiers"] = ["exact"]
            index["dropped"].append({"name": case.name, "tier": "tolerant",
                                     "reason": "token %d is within the tolerance of another "
                                               "choice (R-TRACE-051)" % unsafe})
            if case.max_tokens is not None and unsafe >= MIN_TOKENS:
                short, unsafe2, _ = run_case(case, impl, max_tokens=unsafe)
                assert unsafe2 is None, "%s: shortened case still unsafe" % case.name
                short.header["name"] = case.name + "-tolerant"
                traces.append(short)
        for t in traces:
            fname = t.header["name"] + ".jsonl"
            tracefmt.dump(t, os.path.join(out_dir, fname))
            written.add(fname)
            index["traces"].append({"file": fname, "steps": len(t.steps),
                                    "tokens": t.n_token_events(), "tiers": t.header["tiers"],
                                    "requires": t.requires(),
                                    "requirements": t.header["requirements"],
                                    "margin": t.header["margin"]})
    index["total_traces"] = len(index["traces"])
    index["tolerant_traces"] = sum(1 for t in index["traces"] if "tolerant" in t["tiers"])
    index["total_steps"] = sum(t["steps"] for t in index["traces"])
    index["total_tokens"] = sum(t["tokens"] for t in index["traces"])
    with open(os.path.join(out_dir, "INDEX.json"), "w", encoding="utf-8") as f:
        json.dump(index, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for old in os.listdir(out_dir):
        if old.endswith(".jsonl") and old not in written:
            os.remove(os.path.join(out_dir, old))
    return index
