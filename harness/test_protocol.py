"""The wire protocol itself (SPEC chapter 9): framing, errors, each command, logits, cancel."""
import json
import struct

import pytest

from ggufref_harness import fixtures, spec
from ggufref_harness.wire import Server

req = pytest.mark.req
cap = pytest.mark.cap

PRIMARY = fixtures.path_of(fixtures.PRIMARY)
SECONDARY = fixtures.path_of(fixtures.SECONDARY)
needs_models = pytest.mark.skipif(not fixtures.have(), reason="golden/models not generated")

DEFAULTS = {"temperature": 0, "top_k": 0, "top_p": 1, "min_p": 0, "repeat_penalty": 1,
            "repeat_last_n": 64, "seed": 0, "max_tokens": 128, "stop_at_eos": True}


def loaded(server, path=PRIMARY, **sampling):
    server.request("boot").expect_ok()
    server.request("load-model", path=path).expect_ok()
    if sampling:
        server.request("configure-sampling", **sampling).expect_ok()
    return server


def diag(server):
    d = server.request("diagnostics").expect_ok()
    return {k: d.get(k) for k in ("state", "n_prompt", "n_tokens", "tokens", "text_hex",
                                  "model", "sampling")}


# ---- framing ------------------------------------------------------------------------------

@req("R-PROTO-020", "R-PROTO-003", "R-PROTO-012", "R-LEVEL-002")
@pytest.mark.fresh
def test_boot_answers_name_version_capabilities(server):
    r = server.request("boot")
    res = r.expect_ok()
    problems = spec.boot_problems(res)
    assert not problems, "; ".join(problems)  # opens with the rule it breaks (R-LEVEL-004)
    assert len(r.events) == 1
    assert isinstance(res.get("name"), str) and res["name"]
    assert isinstance(res.get("version"), str) and res["version"]
    assert res.get("protocol") == spec.PROTOCOL_VERSION
    assert isinstance(res.get("capabilities"), list)
    assert all(isinstance(c, str) for c in res["capabilities"])
    assert res.get("state") == "INITIALIZED"


@req("R-PROTO-020")
@pytest.mark.fresh
def test_boot_may_be_sent_again(booted):
    res = booted.request("boot").expect_ok()
    assert res["state"] == "INITIALIZED"


@req("R-PROTO-006")
@pytest.mark.parametrize("rid", ["a", "request-\u00e9\u2713", 0, -7, 2 ** 53 - 1, "x" * 256,
                                 "7", ""])
def test_ids_are_echoed_as_equal_values(server, rid):
    server.send("boot", rid=rid)
    ev = server.next_event()
    assert ev["id"] == rid and type(ev["id"]) is type(rid)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


@req("R-PROTO-006")
@pytest.mark.parametrize("text,value", [("-0", 0), ("-0.0", 0), ("1.0", 1), ("1e2", 100),
                                        ("-5E+0", -5), ("2.50e1", 25),
                                        ("9007199254740991.0", 2 ** 53 - 1),
                                        ("-9.007199254740991e15", -(2 ** 53 - 1))])
def test_integer_ids_in_any_spelling_are_echoed_as_equal_numbers(server, text, value):
    """An integral number is an integer id whatever its spelling; the echo is a number of the
    same value (the spelling need not survive: clients compare ids as values)."""
    r = server.raw_request('{"id":%s,"cmd":"boot"}' % text)
    assert _is_number(r.final["id"]) and r.final["id"] == value, \
        "id %s echoed as %r: %s" % (text, r.final["id"], r.describe())
    r.expect_ok()


@req("R-PROTO-006")
@pytest.mark.parametrize("line", ['{"cmd":"boot"}', '{"id":1.5,"cmd":"boot"}',
                                  '{"id":[1],"cmd":"boot"}', '{"id":{},"cmd":"boot"}',
                                  '{"id":true,"cmd":"boot"}', '{"id":null,"cmd":"boot"}',
                                  '{"id":2.5e0,"cmd":"boot"}', '{"id":1e-1,"cmd":"boot"}',
                                  '{"id":-0.5,"cmd":"boot"}',
                                  '{"id":9007199254740992,"cmd":"boot"}',
                                  '{"id":"%s","cmd":"boot"}' % ("x" * 257),
                                  '{"id":9007199254740993,"cmd":"boot"}'])
def test_bad_ids_get_null_id_errors(server, line):
    r = server.raw_request(line)
    assert r.final["id"] is None
    r.expect_error(spec.CODE["INVALID_ARGUMENT"])


@req("R-PROTO-005", "R-PROTO-004")
@pytest.mark.parametrize("line", [b"not json", b"{", b"[1,2]", b"42", b'"boot"', b"null",
                                  b'{"id":1,"cmd":"boot"} {"id":2}', b'{"id":1,"cmd":"boot"}x',
                                  b"\xff\xfe{}", b'{"id":"\xc3\x28","cmd":"boot"}'])
def test_malformed_lines_get_null_id_errors(server, line):
    r = server.raw_request(line)
    assert r.final["id"] is None
    err = r.expect_error(spec.CODE["INVALID_ARGUMENT"])
    assert err["message"].strip() and "\n" not in err["message"]


@req("R-PROTO-007")
def test_unknown_command(booted):
    err = booted.request("explode").expect_error(spec.CODE["INVALID_ARGUMENT"])
    assert "explode" in err["message"]


@req("R-PROTO-007")
@pytest.mark.parametrize("name", sorted(spec.FAULT_COMMANDS))
def test_fault_commands_need_the_capability(booted, caps, name):
    if "fault-injection" in caps:
        pytest.skip("not applicable: the implementation has the fault-injection capability")
    err = booted.request(name, **spec.FAULT_COMMANDS[name]).expect_error(
        spec.CODE["INVALID_ARGUMENT"])
    assert name in err["message"]


@req("R-PROTO-060")
@cap("fault-injection")
@pytest.mark.level("fault-injection")
@pytest.mark.parametrize("name", sorted(spec.FAULT_COMMANDS))
def test_fault_commands_exist(booted, name):
    """Every command of R-PROTO-060 answers (with arguments that disarm), so the harness's
    list (spec.FAULT_COMMANDS) and the implementation cannot drift apart."""
    res = booted.request(name, **spec.FAULT_COMMANDS[name]).expect_ok()
    if name == "fault-status":
        missing = [k for k in spec.FAULT_STATUS_FIELDS if k not in res]
        assert not missing, "fault-status lacks %s: %s" % (missing, res)
    if name == "fault-reset":
        assert res.get("state") == "UNINITIALIZED", res


@req("R-PROTO-008")
@pytest.mark.parametrize("cmd,fields,name", [
    ("load-model", {}, "path"),
    ("load-model", {"path": 5}, "path"),
    ("generate", {}, "prompt"),
    ("generate", {"prompt": ["a"]}, "prompt"),
    ("generate", {"prompt": "a", "logits": 1.5}, "logits"),
    ("generate", {"prompt": "a", "logits": 33}, "logits"),
    ("generate", {"prompt": "a", "logits": -1}, "logits"),
    ("cancel", {}, "target"),
    ("cancel", {"target": [1]}, "target"),
    ("cancel", {"target": 1.5}, "target"),
    ("cancel", {"target": True}, "target"),
    ("configure-sampling", {"top_k": 1.5}, "top_k"),
    ("configure-sampling", {"max_tokens": "3"}, "max_tokens"),
    ("configure-sampling", {"stop_at_eos": 1}, "stop_at_eos"),
    ("configure-sampling", {"temperature": "hot"}, "temperature"),
    ("configure-sampling", {"seed": -1}, "seed"),
    ("configure-sampling", {"seed": "12x"}, "seed"),
    ("configure-sampling", {"seed": "18446744073709551616"}, "seed"),
    ("configure-sampling", {"top_k": 2 ** 31}, "top_k"),
])
def test_missing_or_mistyped_fields(booted, cmd, fields, name):
    before = diag(booted)
    err = booted.request(cmd, **fields).expect_error(spec.CODE["INVALID_ARGUMENT"])
    assert name in err["message"]
    assert diag(booted) == before  # R-PROTO-010: never reached the runtime


@req("R-PROTO-008")
def test_unknown_fields_are_ignored(booted):
    booted.request("boot", colour="blue", nested={"a": [1]}).expect_ok()


@req("R-PROTO-008")
@needs_models
def test_nul_in_a_string_is_rejected(server):
    loaded(server)
    server.request("generate", prompt="a\u0000b").expect_error(spec.CODE["INVALID_ARGUMENT"])
    assert diag(server)["state"] == "READY"


@req("R-PROTO-009", "R-PROTO-010")
def test_oversized_line_is_discarded_and_serving_continues(booted):
    line = '{"id":1,"cmd":"boot","pad":"%s"}' % ("x" * spec.MAX_LINE)
    r = booted.raw_request(line, timeout=30)
    assert r.final["id"] is None
    r.expect_error(spec.CODE["LIMIT_EXCEEDED"])
    booted.request("boot").expect_ok()


@req("R-PROTO-009")
def test_line_of_exactly_the_limit_is_accepted(booted):
    head = '{"id":"max","cmd":"boot","pad":"'
    tail = '"}'
    line = head + "y" * (spec.MAX_LINE - len(head) - len(tail)) + tail
    assert len(line.encode()) == spec.MAX_LINE
    booted.send_raw(line)
    ev = booted.next_event(timeout=30)
    assert ev["id"] == "max" and ev["event"] == "result"


@req("R-PROTO-001")
def test_blank_lines_and_crlf(server):
    server.send_raw(b"\n   \n\t\n")
    server.send_raw(b'{"id":"crlf","cmd":"boot"}\r\n')
    ev = server.next_event()
    assert ev["id"] == "crlf" and ev["event"] == "result"


@req("R-PROTO-001", "R-PROTO-002")
def test_last_line_without_newline_and_clean_exit(impl):
    s = Server(impl)
    s.send_raw(b'{"id":"last","cmd":"boot"}', newline=False)
    s.proc.stdin.close()
    ev = s.next_event()
    assert ev["id"] == "last" and ev["event"] == "result"
    assert s.close() == 0


@req("R-PROTO-011", "R-PROTO-003")
def test_commands_are_answered_in_order(server):
    server.send_raw("".join(json.dumps({"id": i, "cmd": "boot" if i % 2 else "nope"}) + "\n"
                            for i in range(1, 9)))
    got = [server.next_event() for _ in range(8)]
    assert [e["id"] for e in got] == list(range(1, 9))
    assert [e["event"] for e in got] == ["result", "error"] * 4


@req("R-PROTO-010", "R-PROTO-005", "R-PROTO-007", "R-PROTO-008")
@needs_models
def test_protocol_errors_change_nothing(server):
    loaded(server, max_tokens=3)
    server.request("generate", prompt="abc").expect_ok()
    before = diag(server)
    last = server.request("diagnostics").expect_ok()["last_error"]
    for line in ["{", "[]", '{"id":1}', '{"id":2,"cmd":"nope"}', '{"id":3,"cmd":"load-model"}',
                 '{"id":4,"cmd":"configure-sampling","top_k":"x"}']:
        r = server.raw_request(line)
        assert r.final["event"] == "error", r.describe()
    assert diag(server) == before
    assert server.request("diagnostics").expect_ok()["last_error"] == last


# ---- commands -------------------------------------------------------------------------------

@req("R-PROTO-021", "R-PROTO-012")
@needs_models
def test_load_model(server):
    server.request("boot").expect_ok()
    assert server.request("load-model", path=PRIMARY).expect_ok()["state"] == "READY"
    d = diag(server)
    assert d["model"] is True and d["state"] == "READY"


@req("R-PROTO-022")
def test_configure_sampling_defaults_and_absent_fields(booted):
    res = booted.request("configure-sampling").expect_ok()
    assert res["sampling"] == DEFAULTS
    booted.request("configure-sampling", temperature=0.5, top_k=3).expect_ok()
    res = booted.request("configure-sampling", max_tokens=7).expect_ok()
    want = dict(DEFAULTS, max_tokens=7)
    assert res["sampling"] == want, "absent fields take the defaults, not previous values"


@req("R-PROTO-022")
def test_configure_sampling_float32_and_seed_forms(booted):
    res = booted.request("configure-sampling", temperature=0.1, top_p=0.9,
                         seed=2 ** 53).expect_ok()["sampling"]
    f32 = lambda v: struct.unpack("<f", struct.pack("<f", v))[0]  # noqa: E731
    assert f32(res["temperature"]) == f32(0.1) and f32(res["top_p"]) == f32(0.9)
    assert res["seed"] == 2 ** 53
    res = booted.request("configure-sampling", seed="18446744073709551615").expect_ok()
    assert res["sampling"]["seed"] == "18446744073709551615"
    res = booted.request("configure-sampling", seed="42").expect_ok()
    assert res["sampling"]["seed"] == 42


@req("R-PROTO-023")
@needs_models
def test_generate_streams_tokens_then_result(server):
    loaded(server, max_tokens=6, stop_at_eos=False)
    r = server.request("generate", prompt="Hello world")
    res = r.expect_ok()
    assert r.events[-1] is r.final and len(r.tokens) == 6 == len(r.events) - 1
    assert [t["index"] for t in r.tokens] == list(range(6))
    assert [t["token"] for t in r.tokens] == res["tokens"]
    assert "".join(t["piece"] for t in r.tokens) == res["text_hex"]
    assert res["n_prompt"] == len(res["prompt_tokens"])
    assert res["n_tokens"] == res["n_prompt"] + 6
    assert res["state"] == "CONTINUATION_READY"
    assert isinstance(res.get("text"), str)
    for t in r.tokens:
        assert all(c in "0123456789abcdef" for c in t["piece"]) and len(t["piece"]) % 2 == 0
        assert "top" not in t and "digest" not in t  # logits only when asked (R-PROTO-030)


@req("R-PROTO-024", "R-RT-024")
@cap("step")
@needs_models
def test_generate_next_token_continues_the_request(server):
    loaded(server, max_tokens=5, stop_at_eos=False)
    whole = server.request("generate", prompt="abc").expect_ok()["tokens"]
    server.request("configure-sampling", max_tokens=2, stop_at_eos=False).expect_ok()
    part = server.request("generate", prompt="abc").expect_ok()
    got = list(part["tokens"])
    for _ in range(3):
        r = server.request("generate-next-token")
        res = r.expect_ok()
        assert len(r.tokens) == 1 and res["tokens"] == [r.tokens[0]["token"]]
        assert res["n_tokens"] == part["n_prompt"] + len(got) + 1
        assert res["state"] == "CONTINUATION_READY"
        got += res["tokens"]
    assert got == whole


@req("R-PROTO-025", "R-PROTO-012")
@needs_models
def test_reset_and_free(server):
    loaded(server, max_tokens=3)
    server.request("generate", prompt="x").expect_ok()
    assert server.request("reset-context").expect_ok()["state"] == "READY"
    d = diag(server)
    assert d["n_tokens"] == 0 and d["tokens"] == [] and d["text_hex"] == ""
    assert server.request("free-model").expect_ok()["state"] == "FREED"
    assert diag(server)["model"] is False


@req("R-PROTO-026")
@needs_models
def test_diagnostics_fields(server):
    loaded(server, max_tokens=2, stop_at_eos=False)
    g = server.request("generate", prompt="hi").expect_ok()
    d = server.request("diagnostics").expect_ok()
    assert d["state"] == "CONTINUATION_READY"
    assert d["tokens"] == g["prompt_tokens"] + g["tokens"]
    assert d["n_prompt"] == g["n_prompt"] and d["n_tokens"] == len(d["tokens"])
    assert d["text_hex"] == g["text_hex"]
    assert d["model"] is True
    assert d["sampling"] == dict(DEFAULTS, max_tokens=2, stop_at_eos=False)
    assert d["last_error"]["code"] == 0 and d["last_error"]["name"] == "OK"
    server.request("load-model", path="/nonexistent/model.gguf").expect_error(
        spec.CODE["IO_ERROR"])
    d = server.request("diagnostics").expect_ok()
    assert d["last_error"]["code"] == spec.CODE["IO_ERROR"]
    assert d["last_error"]["name"] == "IO_ERROR" and d["last_error"]["message"]


# ---- logits ----------------------------------------------------------------------------------

@req("R-PROTO-030")
@cap("logits")
@needs_models
def test_top_logits_sorted_and_greedy_picks_the_first(server):
    loaded(server, max_tokens=8, stop_at_eos=False)
    r = server.request("generate", prompt="The cat", logits=5)
    r.expect_ok()
    for t in r.tokens:
        top = t["top"]
        assert len(top) == 5
        vals = [spec.bits_to_float(b) for _, b in top]
        assert all(len(b) == 8 and b == b.lower() for _, b in top)
        for (i1, _), (i2, _), v1, v2 in zip(top, top[1:], vals, vals[1:]):
            assert v1 > v2 or (v1 == v2 and i1 < i2)
        assert t["token"] == top[0][0], "greedy decoding picks the highest logit"
        assert len(t["digest"]) == 16


@req("R-PROTO-030", "R-PROTO-031")
@cap("logits")
@needs_models
def test_full_logits_match_top_and_digest(server):
    loaded(server, max_tokens=3, stop_at_eos=False)
    r = server.request("generate", prompt="digest", logits=4, logits_full=True)
    r.expect_ok()
    from ggufref_harness.spec import logits_from_hex
    import numpy as np
    for t in r.tokens:
        x = logits_from_hex(t["logits_hex"])
        assert x.size == fixtures.entry(fixtures.PRIMARY)["n_vocab"]
        assert t["digest"] == spec.logits_digest(x)
        order = np.lexsort((np.arange(x.size), -x.astype(np.float64)))[:4]
        assert [[int(i), spec.float_to_bits(float(x[i]))] for i in order] == t["top"]


@req("R-PROTO-030", "R-RT-024")
@cap("logits", "step")
@needs_models
def test_logits_are_the_same_on_the_step_path(server):
    loaded(server, max_tokens=4, stop_at_eos=False)
    whole = server.request("generate", prompt="same", logits=3)
    server.request("configure-sampling", max_tokens=1, stop_at_eos=False).expect_ok()
    part = server.request("generate", prompt="same", logits=3)
    steps = [server.request("generate-next-token", logits=3) for _ in range(3)]
    events = part.tokens + [s.tokens[0] for s in steps]
    assert [(e["token"], e["top"], e["digest"]) for e in events] == \
        [(e["token"], e["top"], e["digest"]) for e in whole.tokens]


@req("R-PROTO-030", "R-PROTO-031")
@cap("logits")
@needs_models
def test_logits_are_raw_before_penalty_and_temperature(server):
    """The first token's logits depend on the prompt only: a penalty on the prompt's tokens,
    a temperature and a top-k filter must not change a single bit of what is reported (the
    digest covers all n_vocab values)."""
    loaded(server, max_tokens=2, stop_at_eos=False)
    plain = server.request("generate", prompt="raw raw", logits=5)
    server.request("configure-sampling", max_tokens=2, stop_at_eos=False, temperature=1.5,
                   top_k=3, repeat_penalty=2.0, repeat_last_n=64, seed=3).expect_ok()
    sampled = server.request("generate", prompt="raw raw", logits=5)
    a, b = plain.tokens[0], sampled.tokens[0]
    assert (a["top"], a["digest"]) == (b["top"], b["digest"]), \
        "the reported logits changed with the sampling settings: %s vs %s" % (a, b)


# ---- cancel ----------------------------------------------------------------------------------

@req("R-PROTO-041", "R-PROTO-040", "R-RT-025")
@cap("cancel")
@needs_models
def test_cancel_in_the_same_write_stops_after_one_token(server):
    loaded(server, max_tokens=40, stop_at_eos=False)
    server.send_raw('{"id":"g","cmd":"generate","prompt":"stop me"}\n'
                    '{"id":"c","cmd":"cancel","target":"g"}\n')
    evs = [server.next_event() for _ in range(3)]
    assert [(e["id"], e["event"]) for e in evs] == [("g", "token"), ("c", "result"),
                                                    ("g", "error")], evs
    assert evs[1]["cancelled"] is True
    assert evs[2]["error"]["code"] == spec.CODE["CANCELLED"]
    assert evs[2]["state"] == "CONTINUATION_READY"
    d = diag(server)
    assert d["n_tokens"] == d["n_prompt"] + 1


@req("R-PROTO-041", "R-PROTO-040", "R-LEVEL-063")
@cap("cancel")
@needs_models
def test_cancel_while_streaming(server):
    """A cancel sent while tokens stream, with no assumption on timing (R-LEVEL-063): either it
    arrives while the generate streams (`cancelled` true: no token event after the cancel's
    result, the generate ends with CANCELLED, its tokens kept) or after the generate finished
    (`cancelled` false, the generate's result complete). A fast implementation may finish all
    its tokens before the cancel arrives; that is not a failure. (The hit itself is checked
    without timing by test_cancel_in_the_same_write_stops_after_one_token.)"""
    loaded(server, max_tokens=90, stop_at_eos=False)
    gid = server.send("generate", prompt="a")
    first = [server.next_event(gid) for _ in range(2)]
    assert all(e["event"] == "token" for e in first)
    cid = server.send("cancel", target=gid)
    seen_cancel = None
    n_tokens = 2
    final = None
    while final is None or seen_cancel is None:
        ev = server.next_event()
        if ev["id"] == cid:
            assert ev["event"] == "result" and isinstance(ev.get("cancelled"), bool), ev
            seen_cancel = ev["cancelled"]
            continue
        assert ev["id"] == gid and final is None, ev
        if ev["event"] == "token":
            assert seen_cancel is not True, "R-PROTO-041: a token event after the cancel's result"
            n_tokens += 1
            continue
        final = ev
    if seen_cancel:
        assert final["event"] == "error" and final["error"]["code"] == spec.CODE["CANCELLED"], \
            final
        assert final["state"] == "CONTINUATION_READY" and n_tokens < 90, final
    else:
        assert final["event"] == "result" and len(final["tokens"]) == n_tokens == 90, final
    d = diag(server)
    assert d["n_tokens"] == d["n_prompt"] + n_tokens, "R-RT-025: the tokens so far are kept"


@req("R-PROTO-041", "R-PROTO-024", "R-LEVEL-063")
@cap("cancel", "step")
@needs_models
def test_cancel_of_generate_next_token_after_its_token(server):
    """R-LEVEL-063: a cancel written with a generate-next-token hits it after its one token
    event (`cancelled` true); there is nothing left to stop, so the command ends with its
    result, the token kept."""
    loaded(server, max_tokens=1, stop_at_eos=False)
    server.request("generate", prompt="a").expect_ok()
    server.send_raw('{"id":"n","cmd":"generate-next-token"}\n'
                    '{"id":"c","cmd":"cancel","target":"n"}\n')
    evs = [server.next_event() for _ in range(3)]
    assert [(e["id"], e["event"]) for e in evs] == [("n", "token"), ("c", "result"),
                                                    ("n", "result")], evs
    assert evs[1]["cancelled"] is True
    assert evs[2]["state"] == "CONTINUATION_READY" and evs[2]["tokens"] == [evs[0]["token"]]


@req("R-PROTO-001", "R-LEVEL-062")
def test_whitespace_only_lines_are_blank(server):
    """R-LEVEL-062: a line of JSON whitespace only (space, tab, CR) is blank: no answer."""
    server.send_raw(b"  \t \r\n\t\n \r\n")
    server.send_raw(b'{"id":"after","cmd":"boot"}\n')
    ev = server.next_event()
    assert ev["id"] == "after" and ev["event"] == "result", ev


@req("R-PROTO-022", "R-LEVEL-064")
def test_a_64_bit_seed_is_accepted_and_echoed(booted):
    """R-LEVEL-064: every implementation accepts a 64-bit seed and echoes it as given, whatever
    its RNG uses; only the sampler-llama2c level needs the seed's exact stream."""
    res = booted.request("configure-sampling", seed="18446744073709551557").expect_ok()
    assert res["sampling"]["seed"] == "18446744073709551557", res


@req("R-PROTO-040", "R-PROTO-006", "R-PROTO-041")
@cap("cancel")
@needs_models
def test_cancel_target_names_the_request_of_equal_id(server):
    """A generate sent with id 7.0 streams as 7; target "7" (a string) misses it, 7e0 hits."""
    loaded(server, max_tokens=40, stop_at_eos=False)
    server.send_raw('{"id":7.0,"cmd":"generate","prompt":"stop me"}\n'
                    '{"id":"c1","cmd":"cancel","target":"7"}\n'
                    '{"id":"c2","cmd":"cancel","target":7e0}\n')
    evs = [server.next_event() for _ in range(4)]
    assert [e["event"] for e in evs] == ["token", "result", "result", "error"], evs
    assert all(_is_number(e["id"]) and e["id"] == 7 for e in (evs[0], evs[3])), evs
    assert (evs[1]["id"], evs[1]["cancelled"]) == ("c1", False), evs
    assert (evs[2]["id"], evs[2]["cancelled"]) == ("c2", True), evs
    assert evs[3]["error"]["code"] == spec.CODE["CANCELLED"]


@req("R-PROTO-040")
@needs_models
def test_cancel_of_nothing_is_harmless(server):
    loaded(server, max_tokens=2)
    server.request("generate", prompt="q").expect_ok()
    before = diag(server)
    res = server.request("cancel", target="no-such-request").expect_ok()
    assert res["cancelled"] is False
    assert diag(server) == before
    r = server.request("generate", prompt="q")
    assert r.ok and len(r.tokens) >= 1, "a stale cancel must not stop the next generate"


@req("R-PROTO-011", "R-PROTO-041")
@cap("cancel")
@needs_models
def test_other_commands_wait_for_the_streaming_generate(server):
    loaded(server, max_tokens=5, stop_at_eos=False)
    server.send_raw('{"id":"g","cmd":"generate","prompt":"x"}\n{"id":"d","cmd":"diagnostics"}\n'
                    '{"id":"c","cmd":"cancel","target":"someone-else"}\n')
    evs = []
    while len([e for e in evs if e["event"] != "token"]) < 3:
        evs.append(server.next_event())
    kinds = [(e["id"], e["event"]) for e in evs]
    # the cancel (of another id) is handled at the first token; diagnostics waits for the end
    assert kinds[0] == ("g", "token") and kinds[1] == ("c", "result")
    assert kinds[-2:] == [("g", "result"), ("d", "result")]
    assert evs[-1]["n_tokens"] == evs[-2]["n_tokens"]


@req("R-PROTO-041", "R-PROTO-040")
@cap("cancel")
@needs_models
def test_cancel_queued_behind_a_generate_waits_for_it(server):
    loaded(server, max_tokens=4, stop_at_eos=False)
    server.send_raw('{"id":"g","cmd":"generate","prompt":"x"}\n'
                    '{"id":"h","cmd":"generate","prompt":"x"}\n'
                    '{"id":"c","cmd":"cancel","target":"h"}\n')
    g = server.wait("g")
    assert g.ok and len(g.tokens) == 4, "a cancel of h must not stop g"
    h = server.wait("h")
    h.expect_error(spec.CODE["CANCELLED"])
    assert len(h.tokens) == 1
    assert server.wait("c").final["cancelled"] is True
