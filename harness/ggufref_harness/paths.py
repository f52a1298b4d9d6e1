"""Where things are: the repository, a build of the reference, the shared material."""
import os
import shlex

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HARNESS = os.path.join(ROOT, "harness")
MODELS = os.path.join(ROOT, "golden", "models")
# GGUFREF_GOLDEN_TRACES: another folder of golden traces (e.g. a committed copy, while the
# working tree's are being regenerated)
GOLDEN_TRACES = os.environ.get("GGUFREF_GOLDEN_TRACES") or os.path.join(ROOT, "golden", "traces")
BUG_TRACES = os.path.join(ROOT, "traces")
TRANSITIONS = os.path.join(ROOT, "conformance", "transitions.tsv")

# Build folders searched, in order, for the reference's `ggufref` binary when neither --impl
# nor GGUFREF_BUILD_DIR says where it is. tools/test-all.sh and tools/quickstart.sh build
# build/release.
_BUILD_CANDIDATES = ("build/release", "build")


def shared_dir():
    """The shared/ folder (third-party material), or None when absent."""
    d = os.environ.get("GGUFREF_SHARED_DIR") or os.path.join(ROOT, "..", "shared")
    d = os.path.abspath(d)
    return d if os.path.isdir(d) else None


def build_dir():
    """The build folder of the reference: $GGUFREF_BUILD_DIR, else the first candidate that
    holds a `ggufref` binary; None if there is none."""
    env = os.environ.get("GGUFREF_BUILD_DIR")
    if env:
        return os.path.abspath(env)
    for rel in _BUILD_CANDIDATES:
        d = os.path.join(ROOT, rel)
        if os.path.isfile(os.path.join(d, "ggufref")):
            return d
    return None


def reference_command(fault_injection=False):
    """The command that starts the reference's server, as a string for --impl.
    fault_injection=True picks the `ggufref-fi` binary with `serve --fault-injection`."""
    d = build_dir() or os.path.join(ROOT, "build", "release")
    if fault_injection:
        return shlex.quote(os.path.join(d, "ggufref-fi")) + " serve --fault-injection"
    return shlex.quote(os.path.join(d, "ggufref")) + " serve"


def is_reference_command(command):
    """Whether a --impl command starts this repository's own reference server: its program is
    a `ggufref` or `ggufref-fi` binary of a build folder of this checkout (or of
    $GGUFREF_BUILD_DIR) run as `serve`. The exact tier's default rests on this, on what the
    user ran, never on what the implementation says about itself (R-LEVEL-010)."""
    try:
        argv = shlex.split(command)
    except ValueError:
        return False
    if len(argv) < 2 or argv[1] != "serve":
        return False
    prog = os.path.realpath(argv[0])
    if os.path.basename(prog) not in ("ggufref", "ggufref-fi") or not os.path.isfile(prog):
        return False
    folders = [os.path.join(ROOT, "build")]
    if os.environ.get("GGUFREF_BUILD_DIR"):
        folders.append(os.environ["GGUFREF_BUILD_DIR"])
    for f in folders:
        f = os.path.realpath(f)
        if prog.startswith(f + os.sep):
            return True
    return False


def model_path(name):
    """Absolute path of a fixture model in golden/models/ (name with or without .gguf)."""
    if not name.endswith(".gguf"):
        name += ".gguf"
    return os.path.join(MODELS, name)
