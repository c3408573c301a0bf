"""Label and field selectors against cases ported from apimachinery's own test tables.

Sources: k8s.io/apimachinery pkg/labels/selector_test.go (TestSelectorParse,
TestSelectorMatches, TestSetSelectorParser, TestRequirementConstructor),
pkg/apis/meta/v1/helpers.go LabelSelectorAsSelector, pkg/fields/selector_test.go, and the
field-label conversion funcs of pkg/apis/core/v1/conversion.go.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.cluster.simulator.apierrors import ApiError
from harness.cluster.simulator.selectors import (
    FieldSelector,
    LabelSelector,
    label_key_errors,
    label_value_errors,
    selectable_fields,
)

# ----------------------------------------------------------------- label selector parsing


@pytest.mark.parametrize(
    "text",
    ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1", "x>1,z<5"],
)
def test_good_selectors_round_trip_without_spaces(text: str) -> None:
    # TestSelectorParse: String() of the parsed selector equals the input without spaces.
    assert str(LabelSelector.parse(text)) == text.replace(" ", "")


@pytest.mark.parametrize("text", ["x=a||y=b", "x==a==b", "!x=a", "x<a"])
def test_bad_selectors_are_400_bad_request(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        LabelSelector.parse(text)
    assert caught.value.code == 400
    assert caught.value.reason == "BadRequest"


def test_parse_is_deterministic() -> None:
    # TestDeterministicParse: requirements are sorted by key.
    assert str(LabelSelector.parse("x=a,a=x")) == str(LabelSelector.parse("a=x,x=a")) == "a=x,x=a"


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("", {"x": "y"}),
        ("x=y", {"x": "y"}),
        ("x=y,z=w", {"x": "y", "z": "w"}),
        ("x!=y,z!=w", {"x": "z", "z": "a"}),
        ("notin=in", {"notin": "in"}),  # in and notin are plain words in values
        ("x", {"x": "z"}),
        ("!x", {"y": "z"}),
        ("x>1", {"x": "2"}),
        ("x<1", {"x": "0"}),
        ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}),
        ("x in (foo,bar)", {"x": "bar"}),
        ("x notin (foo)", {}),
        ("x notin (foo)", {"x": "baz"}),
        ("x==y", {"x": "y"}),
    ],
)
def test_selector_matches(text: str, labels: dict[str, str]) -> None:
    assert LabelSelector.parse(text).matches(labels)


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("x=z", {}),
        ("x=y", {"x": "z"}),
        ("x=y,z=w", {"x": "w", "z": "w"}),
        ("x!=y,z!=w", {"x": "z", "z": "w"}),
        ("x", {"y": "z"}),
        ("!x", {"x": "z"}),
        ("x>1", {"x": "0"}),
        ("x<1", {"x": "2"}),
        ("x>1", {"x": "v2"}),  # a non-integer label never satisfies Gt
        ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}),
        ("x in (foo,bar)", {}),
        ("x notin (foo)", {"x": "foo"}),
    ],
)
def test_selector_does_not_match(text: str, labels: dict[str, str]) -> None:
    assert not LabelSelector.parse(text).matches(labels)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\rx", "x"),
        ("this-is-a-dns.domain.com/key-with-dash", "this-is-a-dns.domain.com/key-with-dash"),
        (
            "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
            "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)",
        ),
        ("foo  in\t (abc)", "foo in (abc)"),
        ("x notin\n (abc)", "x notin (abc)"),
        ("x in (abc,)", "x in (,abc)"),
        ("x in ()", "x in ()"),
        ("x notin (abc,def),bar,z in (),w", "bar,w,x notin (abc,def),z in ()"),
    ],
)
def test_set_based_parsing(text: str, expected: str) -> None:
    # TestSetSelectorParser: whitespace, DNS prefixes, empty values inside parentheses.
    assert str(LabelSelector.parse(text)) == expected


def test_empty_value_in_set_matches_empty_label() -> None:
    selector = LabelSelector.parse("x in (abc,)")
    assert selector.matches({"x": ""})
    assert not selector.matches({})


def test_invalid_key_message_reads_like_upstream() -> None:
    with pytest.raises(ApiError) as caught:
        LabelSelector.parse("-bad=1")
    message = caught.value.message
    assert message.startswith('unable to parse requirement: <nil>: Invalid value: "-bad": ')
    assert "name part must consist of alphanumeric characters" in message


def test_invalid_value_is_rejected() -> None:
    with pytest.raises(ApiError) as caught:
        LabelSelector.parse("app=-web")
    assert 'Invalid value: "-web"' in caught.value.message
    assert "a valid label must be an empty string" in caught.value.message


def test_syntax_error_names_what_was_found() -> None:
    with pytest.raises(ApiError) as caught:
        LabelSelector.parse("x in abc")
    assert "found 'abc' expected: '('" in caught.value.message


def test_exact_reports_single_value_equality() -> None:
    selector = LabelSelector.parse("app=web,tier in (a,b)")
    assert selector.exact("app") == "web"
    assert selector.exact("tier") is None
    assert selector.exact("missing") is None


# ----------------------------------------------------------------- label key/value rules


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("x", True),
        ("1foo", True),
        ("1234", True),
        ("example.com/app", True),
        ("a" * 63, True),
        ("a" * 64, False),
        ("Example.com/app", False),  # the prefix is a lowercase DNS subdomain
        ("/app", False),
        ("a/b/c", False),
        ("app_", False),
    ],
)
def test_label_keys(key: str, ok: bool) -> None:
    assert (label_key_errors(key) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [("", True), ("v1.2_3-x", True), ("a" * 63, True), ("a" * 64, False), ("x y", False)],
)
def test_label_values(value: str, ok: bool) -> None:
    assert (label_value_errors(value) == []) is ok


# ----------------------------------------------------------------- metav1.LabelSelector


def test_spec_none_matches_nothing_and_empty_matches_everything() -> None:
    # LabelSelectorAsSelector: nil -> labels.Nothing(), {} -> labels.Everything().
    assert not LabelSelector.from_spec(None).matches({"a": "b"})
    assert LabelSelector.from_spec({}).matches({"a": "b"})
    assert LabelSelector.from_spec({}).empty
    assert not LabelSelector.from_spec(None).empty


def test_spec_combines_match_labels_and_expressions() -> None:
    selector = LabelSelector.from_spec(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "zone", "operator": "Exists"},
                {"key": "track", "operator": "NotIn", "values": ["beta"]},
            ],
        }
    )
    assert selector.matches({"app": "web", "tier": "edge", "zone": "a"})
    assert not selector.matches({"app": "web", "tier": "edge", "zone": "a", "canary": "1"})
    assert not selector.matches({"app": "web", "tier": "back", "zone": "a"})
    assert not selector.matches({"app": "web", "tier": "edge"})
    assert not selector.matches({"app": "web", "tier": "edge", "zone": "a", "track": "beta"})


def test_spec_rejects_unknown_operator_and_empty_in() -> None:
    with pytest.raises(ApiError, match='"Like" is not a valid label selector operator'):
        LabelSelector.from_spec({"matchExpressions": [{"key": "a", "operator": "Like"}]})
    with pytest.raises(ApiError, match="values set can't be empty"):
        LabelSelector.from_spec({"matchExpressions": [{"key": "a", "operator": "In"}]})


def test_from_set_is_equality_on_every_pair() -> None:
    selector = LabelSelector.from_set({"app": "web", "color": "blue"})
    assert selector.matches({"app": "web", "color": "blue", "x": "y"})
    assert not selector.matches({"app": "web", "color": "green"})
    assert LabelSelector.from_set({}).empty


# ----------------------------------------------------------------- field selectors


def _pod(**spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"restartPolicy": "Always", **spec},
        "status": {"phase": "Running", "podIPs": [{"ip": "127.1.0.5"}], "podIP": "127.1.0.5"},
    }


def test_field_selector_equality_inequality_and_and() -> None:
    pod = _pod(nodeName="node-a")
    assert FieldSelector.parse("metadata.name=web-1", "Pod").matches(pod)
    assert FieldSelector.parse("metadata.name==web-1", "Pod").matches(pod)
    assert not FieldSelector.parse("metadata.name!=web-1", "Pod").matches(pod)
    assert FieldSelector.parse("status.phase=Running,spec.nodeName=node-a", "Pod").matches(pod)
    assert not FieldSelector.parse("status.phase=Running,spec.nodeName=node-b", "Pod").matches(pod)
    assert FieldSelector.parse("status.podIP=127.1.0.5", "Pod").matches(pod)


def test_missing_field_compares_as_empty_string() -> None:
    # The scheduler lists unscheduled pods with spec.nodeName= ; the kubelet its own with =node.
    unscheduled = _pod()
    assert FieldSelector.parse("spec.nodeName=", "Pod").matches(unscheduled)
    assert not FieldSelector.parse("spec.nodeName!=", "Pod").matches(unscheduled)


def test_spec_host_is_an_alias_for_node_name() -> None:
    selector = FieldSelector.parse("spec.host=node-a", "Pod")
    assert selector.exact("spec.nodeName") == "node-a"


def test_event_fields() -> None:
    event = {
        "metadata": {"name": "web.1", "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": "shop", "uid": "u1"},
        "reason": "Killing",
        "type": "Normal",
        "source": {"component": "kubelet"},
    }
    text = "involvedObject.kind=Pod,involvedObject.name=web-1,involvedObject.uid=u1,type=Normal"
    assert FieldSelector.parse(text, "Event").matches(event)
    assert FieldSelector.parse("source=kubelet,reason=Killing", "Event").matches(event)


def test_unknown_field_on_a_kind_with_its_own_conversion() -> None:
    # pkg/apis/core/v1/conversion.go: "field label not supported: %s".
    with pytest.raises(ApiError) as caught:
        FieldSelector.parse("spec.bogus=1", "Pod")
    assert caught.value.code == 400
    assert caught.value.message == "field label not supported: spec.bogus"


def test_unknown_field_on_other_kinds_uses_the_default_wording() -> None:
    # runtime.DefaultMetaV1FieldSelectorConversion, as `kubectl get ingress --field-selector`.
    with pytest.raises(ApiError) as caught:
        FieldSelector.parse("foo.bar=baz", "Deployment")
    assert caught.value.message == (
        '"foo.bar" is not a known field selector: only "metadata.name", "metadata.namespace"'
    )


def test_custom_resources_allow_only_name_and_namespace() -> None:
    assert (
        FieldSelector.parse("metadata.namespace=a", "Widget", custom=True).exact(
            "metadata.namespace"
        )
        == "a"
    )
    with pytest.raises(ApiError, match=r"field label not supported: spec\.size"):
        FieldSelector.parse("spec.size=1", "Widget", custom=True)
    with pytest.raises(ApiError, match=r"metadata\.namespace"):
        FieldSelector.parse("metadata.namespace=a", "Cog", custom=True, namespaced=False)


def test_field_selector_syntax_errors() -> None:
    with pytest.raises(ApiError, match=r"can't understand 'metadata\.name'"):
        FieldSelector.parse("metadata.name", "Pod")


def test_escaped_comma_in_value() -> None:
    # fields.EscapeValue: \, and \= keep separators inside a value.
    obj = {"metadata": {"name": "a,b", "namespace": "x"}}
    assert FieldSelector.parse(r"metadata.name=a\,b", "ConfigMap").matches(obj)


def test_selectable_fields_of_a_pod() -> None:
    fields = selectable_fields(_pod(nodeName="node-a", hostNetwork=True), "Pod")
    assert fields["metadata.namespace"] == "shop"
    assert fields["spec.nodeName"] == "node-a"
    assert fields["spec.hostNetwork"] == "true"
    assert fields["status.podIP"] == "127.1.0.5"
