"""Per-token margins of a generation (SPEC R-TRACE-050/051), for the golden-trace generator.

A margin says how far a token choice is from flipping. The tolerant tier lets an implementation's
logits differ from the reference's by up to tol = abs + rel*|logit|; a golden case is only fair in
that tier if no such difference could change a token. For every generated token we compute,
from the raw logits the reference reports (`logits_full`), the sampling settings, the history and
the coin (SPEC chapter 6: the sampler pipeline of reference/src/sampler.c):

  gap   in logit units: greedy -> top-1 minus top-2 of the penalized logits; sampled -> the
        smallest distance of any candidate to a filter threshold (min-p fraction, top-p crop,
        top-k edge), or None when no filter is active.
  coin  sampled only: the distance, in coin units, from the coin to the nearest boundary of the
        cumulative distribution it is compared with (and of the top-p truncation point).

The arithmetic is float64: margins are estimates of distance, not a second sampler. The token a
margin computation predicts is returned too; the generator treats a disagreement with the
reference as a zero margin.
"""
import math

import numpy as np

SEED0_STATE = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1


class Rng:
    """xorshift64* as SPEC R-RNG-001..002 (reference/src/rng.c)."""

    def __init__(self, seed):
        self.state = seed if seed != 0 else SEED0_STATE

    def u32(self):
        s = self.state
        s ^= s >> 12
        s ^= (s << 25) & MASK64
        s ^= s >> 27
        self.state = s
        return ((s * 0x2545F4914F6CDD1D) & MASK64) >> 32

    def coin(self):
        return (self.u32() >> 8) / 16777216.0


from ggufref_harness.spec import logits_from_hex  # noqa: E402,F401 (the reader's decoder)


def penalize(logits, settings, history):
    x = logits.astype(np.float64)
    pen = float(settings.get("repeat_penalty", 1.0))
    last_n = int(settings.get("repeat_last_n", 64))
    if pen != 1.0 and last_n > 0 and history:
        for t in set(history[-last_n:]):
            x[t] = x[t] / pen if x[t] > 0 else x[t] * pen
    return x


def tolerance_in_logits(logits, settings, tol):
    """The largest logit error the tolerant tier allows, after the repetition penalty."""
    pen = float(settings.get("repeat_penalty", 1.0))
    worst = float(np.max(np.abs(logits[np.isfinite(logits)]))) if logits.size else 0.0
    return (tol["abs"] + tol["rel"] * worst) * max(pen, 1.0 / pen)


def step_margin(logits, settings, history, coin):
    """(token, gap, coin_gap) for one token; see the module comment."""
    x = penalize(logits, settings, history)
    n = x.size
    temp = float(settings.get("temperature", 0.0))
    if temp == 0.0:
        order = np.lexsort((np.arange(n), -x))
        gap = float(x[order[0]] - x[order[1]]) if n > 1 else math.inf
        return int(order[0]), gap, None
    z = x / temp
    z = z - np.max(z)
    p = np.exp(z)
    p = p / p.sum()
    top_k = int(settings.get("top_k", 0))
    top_p = float(settings.get("top_p", 1.0))
    min_p = float(settings.get("min_p", 0.0))
    filtered = (0 < top_k < n) or min_p > 0.0 or top_p < 1.0
    if not filtered:
        cdf = np.cumsum(p)
        idx = int(np.searchsorted(cdf, coin, side="right"))
        idx = min(idx, n - 1)
        lo = cdf[idx - 1] if idx > 0 else 0.0
        return idx, None, float(min(coin - lo, cdf[idx] - coin))
    # thresholds (probability), then their distance in logit units: T * |ln p - ln cut|
    gaps = []
    cut = 0.0
    if top_p < 1.0 and n > 1:
        cut = (1.0 - top_p) / (n - 1)
    if min_p > 0.0:
        cut = max(cut, min_p * float(np.max(p)))
    if cut > 0.0:
        with np.errstate(divide="ignore"):
            d = np.abs(np.log(p) - math.log(cut)) * temp
        gaps.append(float(np.min(d)))
    keep = np.nonzero(p >= cut)[0]
    if keep.size == 0:
        return int(np.argmax(p)), 0.0, 0.0
    order = keep[np.lexsort((keep, -p[keep]))]
    if 0 < top_k < order.size:
        a, b = p[order[top_k - 1]], p[order[top_k]]
        gaps.append(float(abs(math.log(a) - math.log(b)) * temp) if b > 0 else math.inf)
        order = order[:top_k]
    mass_run = np.cumsum(p[order])
    last = order.size - 1
    coin_gaps = []
    if top_p < 1.0:
        over = np.nonzero(mass_run > top_p)[0]
        if over.size:
            last = int(over[0])
        coin_gaps.append(float(np.min(np.abs(mass_run - top_p))))
    mass = float(mass_run[last])
    cdf = mass_run[:last + 1] / mass
    idx = min(int(np.searchsorted(cdf, coin, side="right")), last)
    lo = cdf[idx - 1] if idx > 0 else 0.0
    coin_gaps.append(float(min(coin - lo, cdf[idx] - coin)))
    return int(order[idx]), (min(gaps) if gaps else None), min(coin_gaps)


def is_safe(gap, coin_gap, tol_logit, temperature):
    """R-TRACE-051: no logit error within the tolerance can change the token (the one rule,
    shared with the replayer: tracefmt.margin_is_safe)."""
    from ggufref_harness.tracefmt import margin_is_safe
    return margin_is_safe(gap, coin_gap, tol_logit, temperature)
