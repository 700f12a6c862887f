"""Label and field selectors: Kubernetes' grammar, matching and error messages."""

from __future__ import annotations

import time

import pytest

from kubelite.api.selectors import (
    DOES_NOT_EXIST,
    EQUALS,
    EXISTS,
    IN,
    NOT_EQUALS,
    NOT_IN,
    FieldRequirement,
    LabelSelector,
    Requirement,
    SelectorError,
    label_key_errors,
    label_selector_from_struct,
    parse_field_selector,
    parse_label_selector,
    selector_to_string,
)

LABEL_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    "'12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
NAME_PART_RULE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


# --- label selector grammar ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("app=web", "app=web"),
        ("app==web", "app==web"),
        ("app!=web", "app!=web"),
        ("app", "app"),
        ("!app", "!app"),
        ("env in (prod,dev)", "env in (dev,prod)"),
        ("env notin (prod)", "env notin (prod)"),
        ("gen>1", "gen>1"),
        ("gen<10", "gen<10"),
        ("  tier = db ,  app  ", "app,tier=db"),  # whitespace tolerant, sorted by key
        ("x in (a,,b)", "x in (,a,b)"),
        ("x in ()", "x in ()"),
        ("x=", "x="),
        ("in in (in, notin)", "in in (in,notin)"),  # keywords are fine as keys and values
        ("example.com/role=web", "example.com/role=web"),
        ("", ""),
    ],
)
def test_parse_label_selector_round_trips_to_kubernetes_string(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical


def test_empty_selector_selects_everything() -> None:
    sel = parse_label_selector("")
    assert sel.empty
    assert sel.matches({}) and sel.matches(None) and sel.matches({"a": "b"})


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=web", {"app": "web"}, True),
        ("app=web", {"app": "db"}, False),
        ("app=web", {}, False),
        ("app!=web", {}, True),  # a missing key is "not equal"
        ("app!=web", {"app": "web"}, False),
        ("app", {"app": ""}, True),
        ("app", None, False),
        ("!app", {"other": "x"}, True),
        ("!app", {"app": "x"}, False),
        ("env in (a,b)", {"env": "b"}, True),
        ("env in (a,b)", {"env": "c"}, False),
        ("env notin (a,b)", {}, True),
        ("env notin (a,b)", {"env": "a"}, False),
        ("gen>3", {"gen": "4"}, True),
        ("gen>3", {"gen": "3"}, False),
        ("gen>3", {"gen": "four"}, False),  # non-integer label values never compare
        ("gen>3", {}, False),
        ("gen<3", {"gen": "-1"}, True),
        ("app=web,tier=db", {"app": "web", "tier": "db"}, True),
        ("app=web,tier=db", {"app": "web", "tier": "fe"}, False),
        ("x in ()", {"x": ""}, True),
    ],
)
def test_label_selector_matches(text: str, labels: dict[str, str] | None, expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("x in y", "unable to parse requirement: found 'y' expected: '('"),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
        ("a,", "found '', expected: identifier after ','"),
        ("a=b=c", "found '=', expected: ',' or 'end of string'"),
        ("(", "found '(', expected: !, identifier, or 'end of string'"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("a>b", "unable to parse requirement: values[0]: Invalid value: \"b\": "
                "for 'Gt', 'Lt' operators, the value must be an integer"),
        ("app=-x", f"unable to parse requirement: values[0][app]: Invalid value: \"-x\": {LABEL_VALUE_RULE}"),
        ("-a", f"unable to parse requirement: <nil>: Invalid value: \"-a\": {NAME_PART_RULE}"),
    ],
)
def test_bad_label_selectors_fail_with_kubernetes_messages(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_label_selector(text)
    assert str(err.value) == message


def test_label_key_syntax_checks_prefix_and_length() -> None:
    assert label_key_errors("example.com/app") == []
    assert label_key_errors("Example.com/app") != []
    assert label_key_errors("/app") == ["prefix part must be non-empty"]
    assert label_key_errors("a" * 64) == ["name part must be no more than 63 characters"]
    assert label_key_errors("a/b/c")[0].startswith("a qualified name must consist of")


def test_label_value_longer_than_63_characters_is_rejected() -> None:
    with pytest.raises(SelectorError, match="must be no more than 63 characters"):
        parse_label_selector("app=" + "a" * 64)


def test_requirements_and_exact_value_let_the_server_use_an_index() -> None:
    sel = parse_label_selector("tier!=db,app=web,zone in (a)")
    assert sel.requirements[0] == Requirement("app", EQUALS, ("web",))
    assert sel.exact_value("app") == "web"
    assert sel.exact_value("zone") == "a"  # `in` with one value is exact too
    assert sel.exact_value("tier") is None
    assert sel.exact_value("missing") is None


# --- metav1.LabelSelector structs ------------------------------------------------------------


def test_struct_selector_none_selects_nothing_and_empty_selects_everything() -> None:
    assert label_selector_from_struct(None).matches({"a": "b"}) is False
    assert label_selector_from_struct(None).matches_nothing
    assert label_selector_from_struct({}).matches({"a": "b"}) is True
    assert label_selector_from_struct({"matchLabels": {}, "matchExpressions": []}).empty


def test_struct_selector_combines_match_labels_and_expressions() -> None:
    sel = label_selector_from_struct({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "legacy", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "Exists"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
        ],
    })
    assert sel.matches({"app": "web", "tier": "fe", "zone": "z1"})
    assert not sel.matches({"app": "web", "tier": "fe"})  # zone missing
    assert not sel.matches({"app": "web", "tier": "fe", "zone": "z", "legacy": "1"})
    assert not sel.matches({"app": "web", "tier": "fe", "zone": "z", "env": "dev"})
    assert [r.operator for r in sel.requirements] == [EQUALS, NOT_IN, DOES_NOT_EXIST, IN, EXISTS]


def test_struct_selector_errors_are_kubernetes_messages() -> None:
    with pytest.raises(SelectorError) as err:
        label_selector_from_struct({"matchExpressions": [{"key": "a", "operator": "Bogus"}]})
    assert str(err.value) == '"Bogus" is not a valid label selector operator'
    with pytest.raises(SelectorError) as err:
        label_selector_from_struct({"matchExpressions": [{"key": "a", "operator": "In"}]})
    assert str(err.value) == ("values: Invalid value: []string(nil): "
                              "for 'in', 'notin' operators, values set can't be empty")
    with pytest.raises(SelectorError) as err:
        label_selector_from_struct({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})
    assert str(err.value) == ('values: Invalid value: []string{"x"}: '
                              "values set must be empty for exists and does not exist")


@pytest.mark.parametrize(
    ("sel", "text"),
    [
        ({"matchLabels": {"app": "web", "tier": "fe"}}, "app=web,tier=fe"),
        ({"matchLabels": {"app": "web"},
          "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]},
         "app=web,env in (dev,prod)"),
        ({"matchExpressions": [{"key": "old", "operator": "DoesNotExist"}]}, "!old"),
        ({}, "<none>"),
        (None, "<none>"),
        ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, "<error>"),
    ],
)
def test_selector_to_string_is_what_kubectl_get_rs_wide_prints(sel: dict | None, text: str) -> None:
    assert selector_to_string(sel) == text


# --- field selectors -------------------------------------------------------------------------

POD = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "restartPolicy": "Always"},
    "status": {"phase": "Running", "podIP": "10.0.0.5"},
}
POD_FIELDS = {"spec.nodeName", "spec.restartPolicy", "spec.hostNetwork", "status.phase", "status.podIP"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("metadata.name=web-1", True),
        ("metadata.name==web-1", True),
        ("metadata.name!=web-1", False),
        ("metadata.namespace=default,status.phase=Running", True),
        ("spec.nodeName=node-b", False),
        ("spec.nodeName=", False),
        ("status.phase!=Pending", True),
        ("spec.hostNetwork=false", True),  # unset booleans read as "false", as in Kubernetes
        ("spec.hostNetwork=true", False),
        ("", True),
    ],
)
def test_field_selector_matches_pod_fields(text: str, expected: bool) -> None:
    assert parse_field_selector(text, POD_FIELDS).matches(POD) is expected


def test_missing_field_reads_as_empty_string() -> None:
    unscheduled = {"metadata": {"name": "p"}, "spec": {}}
    assert parse_field_selector("spec.nodeName=", {"spec.nodeName"}).matches(unscheduled)
    assert not parse_field_selector("spec.nodeName!=", {"spec.nodeName"}).matches(unscheduled)


def test_event_fields_including_source_component() -> None:
    event = {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "uid": "u-1"},
             "source": {"component": "kubelet"}, "type": "Warning", "count": 3}
    allowed = {"involvedObject.uid", "involvedObject.kind", "source", "type"}
    assert parse_field_selector("involvedObject.uid=u-1,involvedObject.kind=Pod", allowed).matches(event)
    assert parse_field_selector("source=kubelet,type=Warning", allowed).matches(event)
    assert not parse_field_selector("source=scheduler", allowed).matches(event)


def test_field_selector_exact_value_and_requirements() -> None:
    sel = parse_field_selector("spec.nodeName=node-a,metadata.name!=x", POD_FIELDS)
    assert sel.exact_value("spec.nodeName") == "node-a"
    assert sel.exact_value("metadata.name") is None  # only `=` pins a value
    assert FieldRequirement("metadata.name", NOT_EQUALS, "x") in sel.requirements


def test_field_values_may_escape_commas_and_equals() -> None:
    sel = parse_field_selector(r"metadata.name=a\,b\=c\\d", set())
    assert sel.exact_value("metadata.name") == "a,b=c\\d"
    assert str(sel) == r"metadata.name=a\,b\=c\\d"


@pytest.mark.parametrize(
    ("text", "allowed", "message"),
    [
        ("spec.foo=bar", POD_FIELDS, "field label not supported: spec.foo"),
        ("data.x=1", set(), '"data.x" is not a known field selector: only "metadata.name", "metadata.namespace"'),
        ("nonsense", POD_FIELDS, "invalid selector: 'nonsense'; can't understand 'nonsense'"),
        (r"metadata.name=a\b", POD_FIELDS, "invalid field selector: invalid escape sequence: \\b"),
        ("metadata.name=a=b", POD_FIELDS, "invalid field selector: unescapedRune character in value: 61"),
    ],
)
def test_bad_field_selectors_fail_with_kubernetes_messages(text: str, allowed: set[str], message: str) -> None:
    with pytest.raises(SelectorError) as err:
        parse_field_selector(text, allowed)
    assert str(err.value) == message


# --- speed -----------------------------------------------------------------------------------


def test_matching_is_fast_enough_for_every_watch_event() -> None:
    labels = {"app": "web", "tier": "fe", "zone": "z1", "pod-template-hash": "abc123"}
    label_sel = parse_label_selector("app=web,tier in (fe,be),!legacy")
    field_sel = parse_field_selector("spec.nodeName=node-a,status.phase!=Failed", POD_FIELDS)
    # CPU time of this process, not wall time: other processes on a shared machine do not count.
    start = time.process_time()
    for _ in range(20_000):
        assert label_sel.matches(labels)
        assert field_sel.matches(POD)
    used = time.process_time() - start
    assert used < 1.0, f"40k matches took {used:.2f}s of CPU"


def test_selectors_compare_by_value() -> None:
    assert parse_label_selector("b=1,a=2") == parse_label_selector("a=2, b=1")
    assert LabelSelector.nothing() != LabelSelector.everything()
