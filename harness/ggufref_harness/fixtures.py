"""The fixture models the suite loads (golden/models, made by golden/gen) and bad files made on
the fly for the `rejected` and `io` conditions of the transition table."""
import json
import os

from .paths import MODELS

# The two models most tests use: small, F32, different architectures (MHA untied, GQA tied).
PRIMARY = "tiny-f32-mha-untied"
SECONDARY = "tiny-f32-gqa-tied"


def manifest():
    """golden/models/manifest.json as a list of dicts (name, file, sha256, type, ...)."""
    path = os.path.join(MODELS, "manifest.json")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def path_of(name):
    return os.path.join(MODELS, name if name.endswith(".gguf") else name + ".gguf")


def entry(name):
    for m in manifest():
        if m["name"] == name:
            return m
    raise KeyError(name)


def have(name=PRIMARY):
    return os.path.isfile(path_of(name))


def bad_model(folder, kind):
    """A file the runtime must reject, written into folder; returns its path.
    kind: 'magic' (BAD_MAGIC), 'truncated' (the primary fixture cut in its metadata: TRUNCATED),
    'empty' (zero bytes: TRUNCATED)."""
    path = os.path.join(folder, "bad-%s.gguf" % kind)
    with open(path_of(PRIMARY), "rb") as f:
        good = f.read()
    if kind == "magic":
        data = b"GGUX" + good[4:]
    elif kind == "truncated":
        data = good[:100]
    elif kind == "empty":
        data = b""
    else:
        raise ValueError(kind)
    with open(path, "wb") as f:
        f.write(data)
    return path


def missing_path(folder):
    """A path that does not exist (load-model: IO_ERROR)."""
    return os.path.join(folder, "no-such-model.gguf")
