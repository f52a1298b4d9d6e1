"""Constants of the spec the harness checks against (SPEC chapters 1, 9 and 10)."""
import struct

# R-STATUS-001: the status table, number -> name. Never renumbered.
STATUS = {
    0: "OK",
    1: "INVALID_ARGUMENT",
    2: "OUT_OF_MEMORY",
    3: "IO_ERROR",
    4: "TRUNCATED",
    5: "BAD_MAGIC",
    6: "BYTE_SWAPPED",
    7: "UNSUPPORTED_VERSION",
    8: "BAD_VALUE_TYPE",
    9: "BAD_STRING",
    10: "DUPLICATE_NAME",
    11: "MODEL_NOT_LOADED",
    12: "INVALID_STATE",
    13: "GENERATION_FAILED",
    14: "BAD_ALIGNMENT",
    15: "BAD_TENSOR_INFO",
    16: "BAD_TENSOR_DATA",
    17: "LIMIT_EXCEEDED",
    18: "UNSUPPORTED_MODEL",
    19: "UNSUPPORTED_TOKENIZER",
    20: "CONTEXT_OVERFLOW",
    21: "CANCELLED",
    22: "BAD_VALUE",
    23: "DEADLINE_EXCEEDED",
}
CODE = {name: code for code, name in STATUS.items()}

# R-PROTO-020: capabilities an implementation may advertise in its boot result.
CAPABILITIES = ("step", "cancel", "logits", "sessions", "fault-injection")

# R-LEVEL-001: the conformance levels, in report order; R-LEVEL-002: what boot's `levels` claims.
LEVELS = ("core", "strict-errors", "sampler-llama2c", "fault-injection")
DEFAULT_LEVEL = "core"


def boot_problems(res):
    """What is wrong with a boot result's fields (R-PROTO-020, R-LEVEL-002): a list of
    strings, empty when every field has its type. Never raises, whatever `res` is."""
    if not isinstance(res, dict):
        return ["the boot result is not an object"]
    out = []
    for k in ("name", "version"):
        if not isinstance(res.get(k), str) or not res.get(k):
            out.append("R-PROTO-020: `%s` is %s, not a non-empty string" % (
                k, _shown(res.get(k))))
    if res.get("protocol") != PROTOCOL_VERSION or isinstance(res.get("protocol"), bool):
        out.append("R-PROTO-020: `protocol` is %s, not %d" % (_shown(res.get("protocol")),
                                                             PROTOCOL_VERSION))
    caps = res.get("capabilities")
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        out.append("R-PROTO-020: `capabilities` is %s, not an array of strings" %
                   _shown(caps))
    if "levels" in res:
        lv = res["levels"]
        if not isinstance(lv, list) or not all(isinstance(x, str) for x in lv):
            out.append("R-LEVEL-002: `levels` is %s, not an array of strings" % _shown(lv))
        else:
            unknown = [x for x in lv if x not in LEVELS]
            if unknown:
                out.append("R-LEVEL-002: unknown levels %s" % ", ".join(map(repr, unknown)))
    return out


def caps_of(res):
    """The capabilities a boot result advertises, as a set; empty when the field is missing
    or malformed (a malformed boot advertises nothing, R-PROTO-020)."""
    caps = res.get("capabilities") if isinstance(res, dict) else None
    if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
        return set()
    return set(caps)


def levels_of(res):
    """The levels a boot result claims (R-LEVEL-002): `core` always; the others only when
    listed in a well-formed `levels` array."""
    out = {DEFAULT_LEVEL}
    lv = res.get("levels") if isinstance(res, dict) else None
    if isinstance(lv, list) and all(isinstance(x, str) for x in lv):
        out.update(x for x in lv if x in LEVELS)
    return out


def _shown(v):
    import json
    try:
        s = json.dumps(v)
    except (TypeError, ValueError):
        s = repr(v)
    return s if len(s) <= 60 else s[:60] + "..."


# R-PROTO-009: the longest command line every implementation accepts (bytes, newline excluded).
MAX_LINE = 1 << 20

# R-PROTO-030: the most top logits a generate may ask for.
MAX_TOP_LOGITS = 32

PROTOCOL_VERSION = 1

# SPEC chapter 9's commands: those of R-PROTO-020..026 and R-PROTO-040, and those of the
# `fault-injection` capability (R-PROTO-060), each with arguments that change nothing (the
# fault commands disarm; fault-reset also returns the runtime to UNINITIALIZED). Kept true by
# tools/spec_trace.py (ctest spec_traceability: these names = SPEC chapter 9 = protocol.c) and
# by test_protocol.py against the implementation (each fault command answers; without the
# capability each is unknown).
COMMANDS = ("boot", "load-model", "configure-sampling", "generate", "generate-next-token",
            "evaluate", "cancel", "reset-context", "free-model", "diagnostics",
            "open-session", "close-session")
FAULT_COMMANDS = {
    "fault-alloc": {"n": 0},
    "fault-io": {"byte": -1, "kind": "error"},
    "fault-panic": {"point": None},
    "fault-status": {},
    "fault-reset": {},
}
# R-PROTO-060: the members of a fault-status result.
FAULT_STATUS_FIELDS = ("alloc_count", "alloc_live", "alloc_fired", "io_bytes", "io_fired",
                       "panic_fired", "points")

# R-TRACE-001
TRACE_FORMAT = "ggufref-trace"
TRACE_VERSION = 1

# R-TRACE-040: the tolerant tier's default tolerance on a logit: |got - want| <= abs + rel*|want|.
TOLERANCE = {"abs": 1e-3, "rel": 1e-3}

# R-LEVEL-020: the tolerance table per tensor type (the type of the model's matrices, fixtures'
# manifest `type`). `abs`/`rel`: a top logit, |got - want| <= abs + rel*|want| (the tolerant
# tier's `top`, and the margin under which a greedy token may differ, R-LEVEL-021); `nmse`:
# the normalized mean squared error of the whole logits vector at one position,
# sum (got - want)^2 / sum want^2 (test_tolerance.py). How they were measured: SPEC R-LEVEL-020.
TYPE_TOLERANCE = {
    "F32": {"abs": 1e-3, "rel": 1e-3, "nmse": 1e-8},
    "F16": {"abs": 1e-2, "rel": 1e-3, "nmse": 2e-5},
    "BF16": {"abs": 5e-2, "rel": 1e-3, "nmse": 5e-4},
    "Q8_0": {"abs": 0.6, "rel": 1e-3, "nmse": 2e-2},
    "Q6_K": {"abs": 0.5, "rel": 1e-3, "nmse": 5e-3},
    "Q5_0": {"abs": 0.6, "rel": 1e-3, "nmse": 3e-2},
    "Q5_1": {"abs": 0.15, "rel": 1e-3, "nmse": 5e-3},
    "Q4_0": {"abs": 0.6, "rel": 1e-3, "nmse": 1e-2},
    "Q4_1": {"abs": 0.15, "rel": 1e-3, "nmse": 2e-3},
    "Q5_K": {"abs": 0.1, "rel": 1e-3, "nmse": 2e-3},
    "Q4_K": {"abs": 0.6, "rel": 1e-3, "nmse": 4e-2},
    "Q3_K": {"abs": 0.3, "rel": 1e-3, "nmse": 2e-3},
    "Q2_K": {"abs": 0.15, "rel": 1e-3, "nmse": 2e-3},
}


def type_tolerance(types):
    """The loosest tolerance of the given tensor types (a trace may load several models);
    the F32 row when none is known."""
    rows = [TYPE_TOLERANCE[t] for t in types if t in TYPE_TOLERANCE] or [TYPE_TOLERANCE["F32"]]
    return {k: max(r[k] for r in rows) for k in ("abs", "rel", "nmse")}


def fnv1a64(data):
    """FNV-1a 64 of bytes (R-PROTO-031): offset basis 0xcbf29ce484222325, prime 0x100000001b3."""
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def logits_digest(floats):
    """R-PROTO-031: the digest of a logits vector: FNV-1a 64 of its little-endian float32 bytes,
    as 16 lowercase hex digits. `floats` is a sequence of Python floats or a numpy array."""
    try:
        import numpy as np
        data = np.asarray(floats, dtype="<f4").tobytes()
        # FNV-1a in numpy would need a sequential loop anyway; pure Python is fine for <= 1e5.
    except ImportError:
        data = struct.pack("<%df" % len(floats), *floats)
    return "%016x" % fnv1a64(data)


def logits_from_hex(text):
    """`logits_hex` (R-PROTO-030: 8 hex digits of float32 bits per logit) -> float32 array."""
    import numpy as np
    raw = bytes.fromhex(text)
    return np.frombuffer(raw, dtype=">u4").astype("<u4").view("<f4")


def bits_to_float(hexbits):
    """'3f800000' -> 1.0 (R-PROTO-030: a logit as the 8 hex digits of its float32 bits)."""
    return struct.unpack("<f", struct.pack("<I", int(hexbits, 16)))[0]


def float_to_bits(value):
    return "%08x" % struct.unpack("<I", struct.pack("<f", value))[0]
