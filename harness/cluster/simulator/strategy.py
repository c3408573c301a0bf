"""Per-kind API-server rules: defaulting, validation, generation and status handling.

CONTRACT (store.py calls these; upstream pkg/registry/*/strategy.go is the model):
    strategy_for(rt, *, allocator=None) -> Strategy   allocator: the store's ServiceAllocator
                                                      (a process-wide one when omitted)
    Strategy.prepare_for_create(obj) -> None          defaults (KUBE_SPEC rule 1), generation 1,
                                                      status reset where upstream does
    Strategy.prepare_for_update(new, old) -> None     main resource: keep old status; bump
                                                      generation on spec or annotation change
                                                      (rule 2) where upstream does
    Strategy.prepare_for_status_update(new, old) -> None   only status may change
    Strategy.validate(obj) -> list[Cause]
    Strategy.validate_update(new, old) -> list[Cause] immutable fields (selector, clusterIP...)
    Strategy.warnings(obj) -> list[str]               fields stored but not acted on
Also: Strategy.canonicalize(obj) (after validation: a namespace's name label once a
generateName is resolved), Strategy.released(obj) (after delete: frees a Service's ClusterIP
and node ports), scale_of / apply_scale (the autoscaling/v1 Scale of /scale),
pod_qos_class(pod_spec), parse_quantity(text), semantic_equal(a, b).
"""

from __future__ import annotations

import base64
import copy
import ipaddress
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from fractions import Fraction
from typing import Any, Final

from harness.cluster.config import SERVICE_CIDR
from harness.cluster.simulator.apierrors import ApiError, Cause
from harness.cluster.simulator.registry import ResourceType
from harness.cluster.simulator.selectors import (
    LabelSelector,
    label_key_errors,
    label_value_errors,
)

__all__ = [
    "Obj",
    "ServiceAllocator",
    "Strategy",
    "apply_scale",
    "parse_quantity",
    "pod_qos_class",
    "scale_of",
    "semantic_equal",
    "strategy_for",
]

Obj = dict[str, Any]

# Fields the simulator stores but no component acts on; each becomes a kubectl `Warning:`.
# Keys are PodSpec / Container fields (paths are prefixed per kind).
UNACTED_POD_FIELDS: Final = (
    "affinity",
    "topologySpreadConstraints",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "runtimeClassName",
    "priorityClassName",
    "overhead",
    "resourceClaims",
    "dnsConfig",
    "hostAliases",
)
UNACTED_CONTAINER_FIELDS: Final = (
    "resources",
    "securityContext",
    "volumeDevices",
    "resizePolicy",
)
_UNACTED_NOTE: Final = "stored but not acted on by the cluster simulator"

MAX_PORT: Final = 65535


# ======================================================================= field errors
# Messages as k8s.io/apimachinery/pkg/util/validation/field ErrorBody renders them.


def go_value(value: Any) -> str:
    """A bad value as field.Invalid prints it (%q strings, %v numbers, %#v maps)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _go_quote(value)
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{_go_quote(str(k))}:{_go_quote(v)}" for k, v in sorted(value.items()))
        return f"map[string]string{{{inner}}}"
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(_go_quote(v) for v in value) + "}"
    return repr(value)


def _go_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _selector_go(selector: Mapping[str, Any] | None) -> str:
    """%#v of a metav1.LabelSelector, as immutable-selector errors print it."""
    if selector is None:
        return "null"
    labels = selector.get("matchLabels")
    labels_s = go_value(labels) if labels else "map[string]string(nil)"
    exprs = selector.get("matchExpressions")
    if exprs:
        parts = []
        for e in exprs:
            values = e.get("values")
            values_s = go_value(list(values)) if values else "[]string(nil)"
            parts.append(
                f"v1.LabelSelectorRequirement{{Key:{_go_quote(str(e.get('key', '')))}, "
                f"Operator:{_go_quote(str(e.get('operator', '')))}, Values:{values_s}}}"
            )
        exprs_s = "[]v1.LabelSelectorRequirement{" + ", ".join(parts) + "}"
    else:
        exprs_s = "[]v1.LabelSelectorRequirement(nil)"
    return f"v1.LabelSelector{{MatchLabels:{labels_s}, MatchExpressions:{exprs_s}}}"


def required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def invalid(path: str, value: Any, detail: str = "", *, rendered: str | None = None) -> Cause:
    shown = rendered if rendered is not None else go_value(value)
    return Cause(
        "FieldValueInvalid", f"Invalid value: {shown}" + (f": {detail}" if detail else ""), path
    )


def not_supported(path: str, value: Any, supported: Iterable[str]) -> Cause:
    listed = ", ".join(_go_quote(s) for s in supported)
    return Cause(
        "FieldValueNotSupported",
        f"Unsupported value: {go_value(value)}: supported values: {listed}",
        path,
    )


def duplicate(path: str, value: Any) -> Cause:
    return Cause("FieldValueDuplicate", f"Duplicate value: {go_value(value)}", path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", path)


def too_long(path: str, limit: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: must have at most {limit} bytes", path)


# ======================================================================= name formats

_DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN_FMT: Final = _DNS1123_LABEL_FMT + r"(\." + _DNS1123_LABEL_FMT + ")*"
_DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
_CONFIG_KEY_FMT: Final = "[-._a-zA-Z0-9]+"
_IANA_SVC_NAME_FMT: Final = "[a-z0-9]([a-z0-9-]*[a-z0-9])*"
_C_IDENTIFIER_FMT: Final = "[A-Za-z_][A-Za-z0-9_]*"
_PERCENT_FMT: Final = "[0-9]+%"


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    # validation.RegexError, whose double space before "or" is upstream's.
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def dns1123_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(_DNS1123_LABEL_FMT, value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                "or '-', and must start and end with an alphanumeric character",
                _DNS1123_LABEL_FMT,
                "my-name",
                "123-abc",
            )
        )
    return errs


def dns1123_subdomain_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 253:
        errs.append("must be no more than 253 characters")
    if not re.fullmatch(_DNS1123_SUBDOMAIN_FMT, value):
        errs.append(
            _regex_error(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                "characters, '-' or '.', and must start and end with an alphanumeric character",
                _DNS1123_SUBDOMAIN_FMT,
                "example.com",
            )
        )
    return errs


def dns1035_label_errors(value: str) -> list[str]:
    errs = []
    if len(value) > 63:
        errs.append("must be no more than 63 characters")
    if not re.fullmatch(_DNS1035_LABEL_FMT, value):
        errs.append(
            _regex_error(
                "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
                "start with an alphabetic character, and end with an alphanumeric character",
                _DNS1035_LABEL_FMT,
                "my-name",
                "abc-123",
            )
        )
    return errs


def _config_key_errors(key: str) -> list[str]:
    errs = []
    if len(key) > 253:
        errs.append("must be no more than 253 characters")
    if not re.fullmatch(_CONFIG_KEY_FMT, key):
        errs.append(
            _regex_error(
                "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
                _CONFIG_KEY_FMT,
                "key.name",
                "KEY_NAME",
                "key-name",
            )
        )
    if key in (".", ".."):
        errs.append(f"must not be '{key}'")
    elif key.startswith(".."):
        errs.append("must not start with '..'")
    return errs


def _port_name_errors(name: str) -> list[str]:
    """validation.IsValidPortName (IANA_SVC_NAME)."""
    errs = []
    if len(name) > 15:
        errs.append("must be no more than 15 characters")
    if not re.fullmatch(_IANA_SVC_NAME_FMT, name):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if not re.search("[a-z]", name):
        errs.append("must contain at least one letter (a-z)")
    return errs


def _port_num_errors(port: Any) -> list[str]:
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= MAX_PORT:
        return ["must be between 1 and 65535, inclusive"]
    return []


NameCheck = Callable[[str], list[str]]


# ======================================================================= quantities

_SUFFIXES: Final[Mapping[str, Fraction]] = {
    "Ki": Fraction(2**10),
    "Mi": Fraction(2**20),
    "Gi": Fraction(2**30),
    "Ti": Fraction(2**40),
    "Pi": Fraction(2**50),
    "Ei": Fraction(2**60),
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_QUANTITY_RE: Final = re.compile(
    r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?"
)


def parse_quantity(value: Any) -> Fraction | None:
    """resource.ParseQuantity as an exact fraction; None when the text is not a quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Fraction(value)
    m = _QUANTITY_RE.fullmatch(str(value).strip())
    if not m:
        return None
    number = Fraction(m.group(1))
    suffix = m.group(2) or ""
    if suffix[:1] in ("e", "E"):
        return number * Fraction(10) ** int(suffix[1:])
    return number * _SUFFIXES[suffix]


# ======================================================================= pod helpers


def pod_qos_class(pod_spec: Mapping[str, Any]) -> str:
    """qos.GetPodQOS: BestEffort, Guaranteed or Burstable from cpu/memory requests and limits."""
    requests: dict[str, Fraction] = {}
    limits: dict[str, Fraction] = {}
    guaranteed = True
    containers = [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]
    for container in containers:
        resources = container.get("resources") or {}
        for name, raw in (resources.get("requests") or {}).items():
            q = parse_quantity(raw)
            if name in ("cpu", "memory") and q is not None and q > 0:
                requests[name] = requests.get(name, Fraction(0)) + q
        found: set[str] = set()
        for name, raw in (resources.get("limits") or {}).items():
            q = parse_quantity(raw)
            if name in ("cpu", "memory") and q is not None and q > 0:
                found.add(name)
                limits[name] = limits.get(name, Fraction(0)) + q
        if found != {"cpu", "memory"}:
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    matching = all(limits.get(n) == q for n, q in requests.items())
    if guaranteed and matching and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _default_probe(probe: Obj | None) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    _default_handler(probe)


def _default_handler(handler: Obj) -> None:
    http = handler.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def _image_pull_policy(image: str) -> str:
    # SetDefaults_Container: Always for :latest or no tag, else IfNotPresent; a digest counts
    # as a tag.
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def _default_container(c: Obj, *, host_network: bool) -> None:
    if isinstance(c.get("image"), str) and c["image"] and "imagePullPolicy" not in c:
        c["imagePullPolicy"] = _image_pull_policy(c["image"])
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
            if host_network and "hostPort" not in port and "containerPort" in port:
                port["hostPort"] = port["containerPort"]
    for env in c.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef") if isinstance(env, dict) else None
        if isinstance(ref, dict):
            ref.setdefault("apiVersion", "v1")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(key))
    lifecycle = c.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            if isinstance(lifecycle.get(hook), dict):
                _default_handler(lifecycle[hook])


_VOLUME_SOURCES_WITH_MODE: Final = ("configMap", "secret", "downwardAPI", "projected")


def default_pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and the container, port, probe and volume defaults below it."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    host_network = bool(spec.get("hostNetwork"))
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _default_container(c, host_network=host_network)
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict):
            continue
        sources = [k for k in volume if k != "name"]
        if not sources:
            volume["emptyDir"] = {}
        for source in _VOLUME_SOURCES_WITH_MODE:
            if isinstance(volume.get(source), dict):
                volume[source].setdefault("defaultMode", 420)


def default_pod(pod: Obj) -> None:
    """SetDefaults_Pod plus what admission adds on a real cluster (service account, priority,
    not-ready/unreachable tolerations), so pods read back as they do from kube-apiserver."""
    spec = pod.setdefault("spec", {})
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        resources = c.get("resources") if isinstance(c, dict) else None
        if isinstance(resources, dict) and resources.get("limits"):
            requests = resources.setdefault("requests", {})
            for name, value in resources["limits"].items():
                requests.setdefault(name, value)
    spec.setdefault("enableServiceLinks", True)
    default_pod_spec(spec)
    # ServiceAccount admission: serviceAccountName "default", mirrored to serviceAccount.
    spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    # Priority admission, with no PriorityClass named.
    if not spec.get("priorityClassName"):
        spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    # DefaultTolerationSeconds admission.
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations if isinstance(t, dict)):
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )


def _containers_causes(spec: Mapping[str, Any], path: str, key: str) -> list[Cause]:
    causes: list[Cause] = []
    containers = spec.get(key)
    if key == "containers" and not containers:
        return [required(f"{path}.containers")]
    names: set[str] = set()
    for i, c in enumerate(containers or []):
        cpath = f"{path}.{key}[{i}]"
        if not isinstance(c, Mapping):
            causes.append(invalid(cpath, c, "must be an object"))
            continue
        name = c.get("name")
        if not name:
            causes.append(required(f"{cpath}.name"))
        else:
            if errs := dns1123_label_errors(str(name)):
                causes.append(invalid(f"{cpath}.name", name, "; ".join(errs)))
            if name in names:
                causes.append(duplicate(f"{cpath}.name", name))
            names.add(str(name))
        if not c.get("image"):
            causes.append(required(f"{cpath}.image"))
        policy = c.get("imagePullPolicy")
        if policy not in (None, "Always", "IfNotPresent", "Never"):
            causes.append(
                not_supported(
                    f"{cpath}.imagePullPolicy", policy, ("Always", "IfNotPresent", "Never")
                )
            )
        causes.extend(_ports_causes(c.get("ports") or [], f"{cpath}.ports"))
        for j, env in enumerate(c.get("env") or []):
            if isinstance(env, Mapping) and not env.get("name"):
                causes.append(required(f"{cpath}.env[{j}].name"))
        for probe_key in ("livenessProbe", "readinessProbe", "startupProbe"):
            probe = c.get(probe_key)
            if isinstance(probe, Mapping):
                causes.extend(_probe_causes(probe, f"{cpath}.{probe_key}", probe_key))
        causes.extend(_resources_causes(c.get("resources") or {}, f"{cpath}.resources"))
    return causes


def _ports_causes(ports: list[Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        ppath = f"{path}[{i}]"
        if not isinstance(port, Mapping):
            continue
        name = port.get("name")
        if name:
            if errs := _port_name_errors(str(name)):
                causes.append(invalid(f"{ppath}.name", name, "; ".join(errs)))
            elif name in names:
                causes.append(duplicate(f"{ppath}.name", name))
            names.add(str(name))
        number = port.get("containerPort")
        if not number:
            causes.append(required(f"{ppath}.containerPort"))
        elif errs := _port_num_errors(number):
            causes.append(invalid(f"{ppath}.containerPort", number, errs[0]))
        host = port.get("hostPort")
        if host and (errs := _port_num_errors(host)):
            causes.append(invalid(f"{ppath}.hostPort", host, errs[0]))
        protocol = port.get("protocol")
        if protocol is not None and protocol not in ("SCTP", "TCP", "UDP"):
            causes.append(not_supported(f"{ppath}.protocol", protocol, ("SCTP", "TCP", "UDP")))
    return causes


_HANDLERS: Final = ("exec", "httpGet", "tcpSocket", "grpc")


def _probe_causes(probe: Mapping[str, Any], path: str, kind: str) -> list[Cause]:
    causes: list[Cause] = []
    handlers = [h for h in _HANDLERS if probe.get(h) is not None]
    if not handlers:
        causes.append(required(path, "must specify a handler type"))
    elif len(handlers) > 1:
        causes.append(
            forbidden(f"{path}.{handlers[1]}", "may not specify more than 1 handler type")
        )
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "failureThreshold"):
        value = probe.get(key)
        if isinstance(value, int) and value < 0:
            causes.append(invalid(f"{path}.{key}", value, "must be greater than or equal to 0"))
    success = probe.get("successThreshold")
    if kind != "readinessProbe" and success not in (None, 1):
        causes.append(invalid(f"{path}.successThreshold", success, "must be 1"))
    http = probe.get("httpGet")
    if isinstance(http, Mapping):
        port = http.get("port")
        if port is None:
            causes.append(required(f"{path}.httpGet.port"))
        elif isinstance(port, int) and (errs := _port_num_errors(port)):
            causes.append(invalid(f"{path}.httpGet.port", port, errs[0]))
        scheme = http.get("scheme")
        if scheme is not None and scheme not in ("HTTP", "HTTPS"):
            causes.append(not_supported(f"{path}.httpGet.scheme", scheme, ("HTTP", "HTTPS")))
    tcp = probe.get("tcpSocket")
    if isinstance(tcp, Mapping) and tcp.get("port") is None:
        causes.append(required(f"{path}.tcpSocket.port"))
    exec_ = probe.get("exec")
    if isinstance(exec_, Mapping) and not exec_.get("command"):
        causes.append(required(f"{path}.exec.command"))
    return causes


def _resources_causes(resources: Mapping[str, Any], path: str) -> list[Cause]:
    causes: list[Cause] = []
    limits = resources.get("limits") or {}
    requests = resources.get("requests") or {}
    for section, values in (("limits", limits), ("requests", requests)):
        for name, raw in values.items():
            q = parse_quantity(raw)
            if q is None:
                causes.append(
                    invalid(
                        f"{path}.{section}[{name}]",
                        raw,
                        "quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                    )
                )
            elif q < 0:
                causes.append(
                    invalid(
                        f"{path}.{section}[{name}]", str(raw), "must be greater than or equal to 0"
                    )
                )
    for name, raw in requests.items():
        q, lim = parse_quantity(raw), parse_quantity(limits.get(name))
        if q is not None and lim is not None and name in limits and q > lim:
            causes.append(
                invalid(
                    f"{path}.requests",
                    str(raw),
                    f"must be less than or equal to {name} limit of {limits[name]}",
                )
            )
    return causes


def validate_pod_spec(spec: Mapping[str, Any], path: str) -> list[Cause]:
    causes = _containers_causes(spec, path, "containers")
    causes += _containers_causes(spec, path, "initContainers")
    names: set[str] = set()
    for i, volume in enumerate(spec.get("volumes") or []):
        name = volume.get("name") if isinstance(volume, Mapping) else None
        if not name:
            causes.append(required(f"{path}.volumes[{i}].name"))
            continue
        if errs := dns1123_label_errors(str(name)):
            causes.append(invalid(f"{path}.volumes[{i}].name", name, "; ".join(errs)))
        if name in names:
            causes.append(duplicate(f"{path}.volumes[{i}].name", name))
        names.add(str(name))
    restart = spec.get("restartPolicy")
    if restart is not None and restart not in ("Always", "OnFailure", "Never"):
        causes.append(
            not_supported(f"{path}.restartPolicy", restart, ("Always", "OnFailure", "Never"))
        )
    dns = spec.get("dnsPolicy")
    dns_policies = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
    if dns is not None and dns not in dns_policies:
        causes.append(not_supported(f"{path}.dnsPolicy", dns, dns_policies))
    grace = spec.get("terminationGracePeriodSeconds")
    if isinstance(grace, int) and grace < 0:
        causes.append(invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be >= 0"))
    for key in ("activeDeadlineSeconds",):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or value <= 0):
            causes.append(
                invalid(f"{path}.{key}", value, "must be between 1 and 2147483647, inclusive")
            )
    return causes


def _pod_spec_warnings(spec: Mapping[str, Any], path: str) -> list[str]:
    found = [f"{path}.{key}: {_UNACTED_NOTE}" for key in UNACTED_POD_FIELDS if spec.get(key)]
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            if not isinstance(c, Mapping):
                continue
            found += [
                f"{path}.{key}[{i}].{f}: {_UNACTED_NOTE}"
                for f in UNACTED_CONTAINER_FIELDS
                if c.get(f)
            ]
    return found


# ======================================================================= meta validation


def _meta_causes(
    obj: Mapping[str, Any], name_check: NameCheck | None, *, namespaced: bool
) -> list[Cause]:
    meta = obj.get("metadata") or {}
    causes: list[Cause] = []
    name = meta.get("name")
    if not name and not meta.get("generateName"):
        causes.append(required("metadata.name", "name or generateName is required"))
    elif name:
        check = name_check if name_check is not None else _path_segment_errors
        if errs := check(str(name)):
            causes.append(invalid("metadata.name", name, "; ".join(errs)))
    if not namespaced and meta.get("namespace"):
        causes.append(forbidden("metadata.namespace", "not allowed on this type"))
    causes += _labels_causes(meta.get("labels"), "metadata.labels")
    for key in meta.get("annotations") or {}:
        if errs := label_key_errors(str(key)):
            causes.append(invalid("metadata.annotations", key, "; ".join(errs)))
    size = sum(len(str(k)) + len(str(v)) for k, v in (meta.get("annotations") or {}).items())
    if size > 256 * 1024:
        causes.append(
            Cause(
                "FieldValueTooLong",
                "Too long: may not be more than 262144 bytes",
                "metadata.annotations",
            )
        )
    return causes


def _path_segment_errors(name: str) -> list[str]:
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _labels_causes(labels: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key, value in (labels or {}).items():
        if errs := label_key_errors(str(key)):
            causes.append(invalid(path, key, "; ".join(errs)))
        if not isinstance(value, str):
            causes.append(invalid(f"{path}.{key}", value, "must be a string"))
        elif errs := label_value_errors(value):
            causes.append(invalid(path, value, "; ".join(errs)))
    return causes


def _selector_causes(
    selector: Mapping[str, Any] | None, path: str
) -> tuple[list[Cause], LabelSelector | None]:
    if selector is None:
        return [required(path)], None
    causes = _labels_causes(selector.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(selector.get("matchExpressions") or []):
        op = expr.get("operator")
        values = expr.get("values") or []
        epath = f"{path}.matchExpressions[{i}]"
        if op in ("In", "NotIn") and not values:
            causes.append(
                required(f"{epath}.values", "must be specified when `operator` is 'In' or 'NotIn'")
            )
        elif op in ("Exists", "DoesNotExist") and values:
            causes.append(
                forbidden(
                    f"{epath}.values",
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            )
        elif op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            causes.append(
                not_supported(f"{epath}.operator", op, ("In", "NotIn", "Exists", "DoesNotExist"))
            )
    if causes:
        return causes, None
    try:
        return [], LabelSelector.from_spec(selector)
    except ApiError as err:
        return [invalid(path, None, err.message, rendered=_selector_go(selector))], None


def _int_or_percent(value: Any) -> tuple[Fraction | None, bool, str | None]:
    """intstr value -> (number, is_percent, error)."""
    if isinstance(value, bool):
        return None, False, "must be an integer or percentage"
    if isinstance(value, int):
        return Fraction(value), False, None
    if isinstance(value, str):
        if re.fullmatch(_PERCENT_FMT, value):
            return Fraction(int(value[:-1])), True, None
        return (
            None,
            True,
            _regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'",
                _PERCENT_FMT,
                "1%",
                "93%",
            ),
        )
    return None, False, "must be an integer or percentage"


def _non_negative(obj: Mapping[str, Any], key: str, path: str) -> list[Cause]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int):
        return [invalid(f"{path}.{key}", value, "must be an integer")]
    if value < 0:
        return [invalid(f"{path}.{key}", value, "must be greater than or equal to 0")]
    return []


def _get(obj: Mapping[str, Any], *path: str) -> Any:
    cur: Any = obj
    for part in path:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(part)
    return cur


# ======================================================================= comparison


def _is_empty(value: Any) -> bool:
    return value is None or value == {} or value == []


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if not _is_empty(v)}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def semantic_equal(a: Any, b: Any) -> bool:
    """apiequality.Semantic.DeepEqual: nil and empty maps/slices are equal."""
    return bool(_prune(a) == _prune(b))


# ======================================================================= strategies


class Strategy:
    """The generic strategy; per-kind subclasses refine defaults, status and validation.

    `sets_generation`: metadata.generation is kept (1 on create, +1 on spec change), as
    upstream does for Deployment, ReplicaSet, PDB, CRD, Pod and custom resources.
    """

    sets_generation = False
    generation_covers_annotations = False  # Deployment: annotations are copied to its RSs
    reset_status_on_create = True
    name_check: NameCheck | None = staticmethod(dns1123_subdomain_errors)
    # metadata fields a /status write may not change, beyond spec (upstream ResetFields)
    status_keeps_metadata: tuple[str, ...] = ()

    def __init__(self, rt: ResourceType) -> None:
        self.rt = rt

    @property
    def has_status(self) -> bool:
        """Whether status is split off behind a /status subresource."""
        return "status" in self.rt.subresources

    # ------------------------------------------------------------ create/update

    def prepare_for_create(self, obj: Obj) -> None:
        meta = obj.setdefault("metadata", {})
        if self.has_status and self.reset_status_on_create:
            obj.pop("status", None)
        if self.sets_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        self.default(obj)
        self.init_status(obj)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        """An update through the main resource: status is kept, generation maybe bumped."""
        if self.has_status:
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            else:
                new.pop("status", None)
        self.default(new)
        self._carry_generation(new, old)
        if self.sets_generation and self.spec_changed(new, old):
            new["metadata"]["generation"] += 1

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        """An update through /status: spec (and kind-specific metadata) come from the old object."""
        for key in list(new):
            if key not in ("metadata", "status", "apiVersion", "kind"):
                del new[key]
        for key, value in old.items():
            if key not in ("metadata", "status", "apiVersion", "kind"):
                new[key] = copy.deepcopy(value)
        meta = new.setdefault("metadata", {})
        old_meta = old.get("metadata") or {}
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds", *self.status_keeps_metadata):
            if key in old_meta:
                meta[key] = copy.deepcopy(old_meta[key])
            else:
                meta.pop(key, None)
        self._carry_generation(new, old)

    def _carry_generation(self, new: Obj, old: Obj) -> None:
        # rest.BeforeUpdate: clients cannot set generation.
        meta = new.setdefault("metadata", {})
        old_generation = (old.get("metadata") or {}).get("generation")
        if old_generation is not None:
            meta["generation"] = old_generation
        elif self.sets_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        """Whether an update bumps generation: spec (everything but metadata/status for CRs)."""
        changed = not semantic_equal(new.get("spec"), old.get("spec"))
        if self.generation_covers_annotations:
            changed = changed or not semantic_equal(
                _get(new, "metadata", "annotations"), _get(old, "metadata", "annotations")
            )
        return changed

    def canonicalize(self, obj: Obj) -> None:
        """Normalise after validation (upstream Canonicalize)."""

    def released(self, obj: Mapping[str, Any]) -> None:
        """The object was removed from storage; free what it held."""

    # ------------------------------------------------------------ per-kind hooks

    def default(self, obj: Obj) -> None:
        """Fill defaults (pkg/apis/<group>/v1/defaults.go); idempotent."""

    def init_status(self, obj: Obj) -> None:
        """Status the API server itself sets on create (pod phase, namespace phase)."""

    def validate(self, obj: Obj) -> list[Cause]:
        return _meta_causes(obj, self.name_check, namespaced=self.rt.namespaced)

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = self.validate(new)
        new_name = _get(new, "metadata", "name")
        old_name = _get(old, "metadata", "name")
        if old_name and new_name != old_name:
            causes.append(invalid("metadata.name", new_name, "field is immutable"))
        return causes

    def warnings(self, obj: Obj) -> list[str]:
        return []


class _GenerationStrategy(Strategy):
    sets_generation = True


class CustomResourceStrategy(Strategy):
    """customResourceStrategy: generation bumps on any change outside metadata (and status,
    when status is a subresource)."""

    sets_generation = True

    def spec_changed(self, new: Obj, old: Obj) -> bool:
        skip = {"metadata", "apiVersion", "kind"}
        if self.has_status:
            skip.add("status")
        return not semantic_equal(
            {k: v for k, v in new.items() if k not in skip},
            {k: v for k, v in old.items() if k not in skip},
        )

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        # customResourceStatusStrategy: the old object with the new status and managedFields.
        status = new.get("status")
        managed = _get(new, "metadata", "managedFields")
        keep = copy.deepcopy(old)
        new.clear()
        new.update(keep)
        if status is None:
            new.pop("status", None)
        else:
            new["status"] = status
        if managed is not None:
            new.setdefault("metadata", {})["managedFields"] = managed


# ---------------------------------------------------------------- workloads


def _pod_template_causes(
    template: Any, path: str, selector: LabelSelector | None, *, restart_always: bool
) -> list[Cause]:
    if not isinstance(template, Mapping):
        return [required(path)]
    causes: list[Cause] = []
    labels = _get(template, "metadata", "labels") or {}
    causes += _labels_causes(labels, f"{path}.metadata.labels")
    if selector is not None and not selector.empty and not selector.matches(labels):
        causes.append(
            invalid(
                f"{path}.metadata.labels", labels, "`selector` does not match template `labels`"
            )
        )
    spec = template.get("spec")
    if not isinstance(spec, Mapping):
        return [*causes, required(f"{path}.spec.containers")]
    causes += validate_pod_spec(spec, f"{path}.spec")
    restart = spec.get("restartPolicy")
    if restart_always and restart not in (None, "Always"):
        causes.append(not_supported(f"{path}.spec.restartPolicy", restart, ("Always",)))
    if restart_always and spec.get("activeDeadlineSeconds") is not None:
        causes.append(
            forbidden(
                f"{path}.spec.activeDeadlineSeconds",
                "activeDeadlineSeconds in ReplicaSet is not Supported",
            )
        )
    return causes


class _ReplicatedStrategy(_GenerationStrategy):
    """ReplicaSet and Deployment share selector, replicas and template validation."""

    status_keeps_metadata = ("labels",)

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        template = spec.get("template")
        if isinstance(template, dict):
            default_pod_spec(template.setdefault("spec", {}))

    def _spec_causes(self, obj: Obj) -> tuple[list[Cause], Mapping[str, Any]]:
        spec = obj.get("spec") or {}
        causes = _non_negative(spec, "replicas", "spec")
        causes += _non_negative(spec, "minReadySeconds", "spec")
        selector_spec = spec.get("selector")
        selector_causes, selector = _selector_causes(selector_spec, "spec.selector")
        causes += selector_causes
        if selector is not None and selector.empty:
            causes.append(
                invalid(
                    "spec.selector",
                    None,
                    f"empty selector is invalid for {self.rt.kind.lower()}",
                    rendered=_selector_go(selector_spec),
                )
            )
            selector = None
        causes += _pod_template_causes(
            spec.get("template"), "spec.template", selector, restart_always=True
        )
        return causes, spec

    def validate(self, obj: Obj) -> list[Cause]:
        return super().validate(obj) + self._spec_causes(obj)[0]

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = super().validate_update(new, old)
        new_sel, old_sel = _get(new, "spec", "selector"), _get(old, "spec", "selector")
        if not semantic_equal(new_sel, old_sel):
            causes.append(
                invalid("spec.selector", None, "field is immutable", rendered=_selector_go(new_sel))
            )
        return causes

    def warnings(self, obj: Obj) -> list[str]:
        spec = _get(obj, "spec", "template", "spec")
        return _pod_spec_warnings(spec, "spec.template.spec") if isinstance(spec, Mapping) else []


class ReplicaSetStrategy(_ReplicatedStrategy):
    pass


class DeploymentStrategy(_ReplicatedStrategy):
    generation_covers_annotations = True

    def default(self, obj: Obj) -> None:
        # apps/v1 SetDefaults_Deployment; minReadySeconds stays unset (zero, omitted).
        super().default(obj)
        spec = obj["spec"]
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", "25%")
            rolling.setdefault("maxSurge", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)

    def validate(self, obj: Obj) -> list[Cause]:
        causes = super().validate(obj)
        spec = obj.get("spec") or {}
        causes += _non_negative(spec, "revisionHistoryLimit", "spec")
        deadline = spec.get("progressDeadlineSeconds")
        causes += _non_negative(spec, "progressDeadlineSeconds", "spec")
        min_ready = spec.get("minReadySeconds") or 0
        if isinstance(deadline, int) and isinstance(min_ready, int) and deadline <= min_ready:
            causes.append(
                invalid(
                    "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds"
                )
            )
        causes += self._strategy_causes(spec.get("strategy") or {}, spec.get("replicas"))
        return causes

    @staticmethod
    def _strategy_causes(strategy: Mapping[str, Any], replicas: Any) -> list[Cause]:
        causes: list[Cause] = []
        kind = strategy.get("type")
        if kind not in ("Recreate", "RollingUpdate"):
            return [not_supported("spec.strategy.type", kind, ("Recreate", "RollingUpdate"))]
        rolling = strategy.get("rollingUpdate")
        if kind == "Recreate":
            if rolling is not None:
                causes.append(
                    forbidden(
                        "spec.strategy.rollingUpdate",
                        "may not be specified when strategy `type` is 'Recreate'",
                    )
                )
            return causes
        if not isinstance(rolling, Mapping):
            return [
                required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil")
            ]
        parsed: dict[str, Fraction] = {}
        for key in ("maxUnavailable", "maxSurge"):
            path = f"spec.strategy.rollingUpdate.{key}"
            value = rolling.get(key)
            number, percent, error = _int_or_percent(value)
            if error:
                causes.append(invalid(path, value, error))
                continue
            assert number is not None
            if number < 0:
                causes.append(invalid(path, value, "must be greater than or equal to 0"))
            elif percent and number > 100:
                causes.append(invalid(path, value, "must not be greater than 100%"))
            parsed[key] = number
        if parsed.get("maxUnavailable") == 0 and parsed.get("maxSurge") == 0:
            causes.append(
                invalid(
                    "spec.strategy.rollingUpdate.maxUnavailable",
                    rolling.get("maxUnavailable"),
                    "may not be 0 when `maxSurge` is 0",
                )
            )
        return causes


# ---------------------------------------------------------------- pods


class PodStrategy(_GenerationStrategy):
    """podStrategy: status Pending with QoS on create; spec mostly immutable on update."""

    status_keeps_metadata = ("ownerReferences",)

    def default(self, obj: Obj) -> None:
        default_pod(obj)

    def init_status(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Pending", "qosClass": pod_qos_class(obj.get("spec") or {})}

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_status_update(new, old)
        status = new.setdefault("status", {})
        if not status.get("qosClass") and _get(old, "status", "qosClass"):
            status["qosClass"] = old["status"]["qosClass"]
        old_observed = _get(old, "status", "observedGeneration")
        if not status.get("observedGeneration") and old_observed:
            status["observedGeneration"] = old_observed

    def validate(self, obj: Obj) -> list[Cause]:
        spec = obj.get("spec")
        causes = super().validate(obj)
        if not isinstance(spec, Mapping):
            return [*causes, required("spec.containers")]
        return causes + validate_pod_spec(spec, "spec")

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = super().validate_update(new, old)
        # ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations (additions) and
        # terminationGracePeriodSeconds may change.
        new_spec = copy.deepcopy(new.get("spec") or {})
        old_spec = copy.deepcopy(old.get("spec") or {})
        for spec_copy, source in ((new_spec, new_spec), (old_spec, new_spec)):
            for key in ("initContainers", "containers"):
                images = [c.get("image") for c in source.get(key) or []]
                for c, image in zip(spec_copy.get(key) or [], images, strict=False):
                    c["image"] = image
            for key in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"):
                spec_copy.pop(key, None)
        if not semantic_equal(new_spec, old_spec):
            causes.append(
                forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`,"
                    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),"
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                    "previously negative)",
                )
            )
        return causes

    def warnings(self, obj: Obj) -> list[str]:
        found: list[str] = []
        name = _get(obj, "metadata", "name")
        if name and (errs := dns1123_label_errors(str(name))):
            found.append(
                "metadata.name: this is used in the Pod's hostname, which can result in "
                f"surprising behavior; a DNS label is recommended: [{' '.join(errs)}]"
            )
        spec = obj.get("spec")
        if isinstance(spec, Mapping):
            found += _pod_spec_warnings(spec, "spec")
        return found


# ---------------------------------------------------------------- services


class ServiceAllocator:
    """ClusterIPs from a loopback block and node ports from 30000-32767, as the service
    REST storage allocates them (sequentially here, so tests are deterministic).

    Allocations are keyed by their owner ("namespace/name"), so a create that fails
    validation and is retried, or a dry run, gets the same values back instead of leaking.
    """

    def __init__(
        self, cidr: str = SERVICE_CIDR, node_ports: tuple[int, int] = (30000, 32767)
    ) -> None:
        self.network = ipaddress.IPv4Network(cidr)
        self.node_port_range = node_ports
        self._ips: dict[str, str] = {}  # ip -> owner
        self._ports: dict[int, str] = {}  # node port -> owner
        self._next_ip = 1
        self._next_port = node_ports[0]
        self._lock = threading.Lock()

    def allocate_ip(self, owner: str, wanted: str | None = None) -> str:
        with self._lock:
            if wanted:
                return self._claim_ip(owner, wanted)
            held = [ip for ip, o in self._ips.items() if owner and o == owner]
            if held:
                return held[0]
            size = self.network.num_addresses - 2
            for _ in range(size):
                offset = self._next_ip
                self._next_ip = self._next_ip % size + 1
                ip = str(self.network.network_address + offset)
                if ip not in self._ips:
                    self._ips[ip] = owner
                    return ip
        raise _allocation_error("spec.clusterIPs", [], "range is full")

    def _claim_ip(self, owner: str, wanted: str) -> str:
        addr = ipaddress.ip_address(wanted)
        if addr not in self.network or addr in (
            self.network.network_address,
            self.network.broadcast_address,
        ):
            raise _allocation_error(
                "spec.clusterIPs",
                [wanted],
                f"failed to allocate IP {wanted}: the provided IP ({wanted}) is not in "
                f"the valid range. The range of valid IPs is {self.network}",
            )
        if self._ips.get(wanted, owner) != owner or (not owner and wanted in self._ips):
            raise _allocation_error(
                "spec.clusterIPs",
                [wanted],
                f"failed to allocate IP {wanted}: provided IP is already allocated",
            )
        self._ips[wanted] = owner
        return wanted

    def allocate_node_port(self, owner: str, wanted: int | None = None, index: int = 0) -> int:
        low, high = self.node_port_range
        path = f"spec.ports[{index}].nodePort"
        with self._lock:
            if wanted:
                if not low <= wanted <= high:
                    raise _allocation_error(
                        path,
                        wanted,
                        f"provided port is not in the valid range. The range of valid ports is "
                        f"{low}-{high}",
                    )
                if self._ports.get(wanted, owner) != owner or (not owner and wanted in self._ports):
                    raise _allocation_error(path, wanted, "provided port is already allocated")
                self._ports[wanted] = owner
                return wanted
            for _ in range(high - low + 1):
                port = self._next_port
                self._next_port = low if port >= high else port + 1
                if port not in self._ports:
                    self._ports[port] = owner
                    return port
        raise _allocation_error(path, wanted, "range is full")

    def reserve(self, svc: Mapping[str, Any]) -> None:
        """Record what an existing Service holds (a store loaded from disk)."""
        owner = _owner(svc)
        with self._lock:
            for ip in _get(svc, "spec", "clusterIPs") or [_get(svc, "spec", "clusterIP")]:
                if ip and ip != "None":
                    self._ips[str(ip)] = owner
            for port in _get(svc, "spec", "ports") or []:
                if isinstance(port, Mapping) and port.get("nodePort"):
                    self._ports[int(port["nodePort"])] = owner

    def release_ip(self, ip: str) -> None:
        with self._lock:
            self._ips.pop(ip, None)

    def release_node_port(self, port: int) -> None:
        with self._lock:
            self._ports.pop(port, None)

    def release(self, svc: Mapping[str, Any]) -> None:
        """Free everything the Service holds, and whatever its owner key still holds."""
        owner = _owner(svc)
        with self._lock:
            for ip in _get(svc, "spec", "clusterIPs") or [_get(svc, "spec", "clusterIP")]:
                self._ips.pop(str(ip), None)
            for port in _get(svc, "spec", "ports") or []:
                if isinstance(port, Mapping) and port.get("nodePort"):
                    self._ports.pop(int(port["nodePort"]), None)
            if owner:
                for ip in [ip for ip, o in self._ips.items() if o == owner]:
                    del self._ips[ip]
                for port in [p for p, o in self._ports.items() if o == owner]:
                    del self._ports[port]


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def _owner(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    name = meta.get("name")
    return f"{meta.get('namespace', '')}/{name}" if name else ""


def _allocation_error(path: str, value: Any, detail: str) -> ApiError:
    # The real server reports allocation failures as 422 Invalid on the Service.
    cause = invalid(path, value, detail)
    return ApiError(422, "Invalid", f"{path}: {cause.message}", "", "Service", "", [cause])


_DEFAULT_ALLOCATOR = ServiceAllocator()
_SERVICE_TYPES: Final = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


class ServiceStrategy(Strategy):
    """svcStrategy plus the service REST allocator: ClusterIP, node ports, IP families."""

    name_check = staticmethod(dns1035_label_errors)

    def __init__(self, rt: ResourceType, allocator: ServiceAllocator | None = None) -> None:
        super().__init__(rt)
        self.allocator = allocator or _DEFAULT_ALLOCATOR

    def default(self, obj: Obj) -> None:
        # core/v1 SetDefaults_Service
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec["sessionAffinity"] == "ClientIP":
            config = spec.setdefault("sessionAffinityConfig", {}).setdefault("clientIP", {})
            config.setdefault("timeoutSeconds", 10800)
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if port.get("targetPort") in (None, 0, ""):
                    port["targetPort"] = port.get("port")
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        if spec["type"] != "ExternalName":
            spec.setdefault("internalTrafficPolicy", "Cluster")

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"loadBalancer": {}}
        self.allocate(obj, None)

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        self.allocate(new, old)

    def allocate(self, obj: Obj, old: Obj | None) -> None:
        """The service REST allocator: clusterIP(s), IP families and node ports.

        An update that omits allocated values keeps them (patchAllocatedValues); a change to
        or from ExternalName, or away from NodePort/LoadBalancer, frees them. Raises
        ApiError 422 when a requested IP or port is out of range or taken. Values that are
        not IPs or ports are left for validate() to report.
        """
        spec = obj.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        owner = _owner(obj)
        kind = spec.get("type", "ClusterIP")
        old_ip = old_spec.get("clusterIP")
        if kind == "ExternalName":
            for key in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
                spec.pop(key, None)
            if old_ip and old_ip != "None":
                self.allocator.release_ip(str(old_ip))
        else:
            ips = spec.get("clusterIPs") or []
            ip = spec.get("clusterIP") or (ips[0] if ips else None)
            if not ip and old_ip:
                ip = old_ip
            elif ip != "None" and ip != old_ip and _is_ip(ip):
                ip = self.allocator.allocate_ip(owner, ip or None)
            elif not ip:
                ip = self.allocator.allocate_ip(owner)
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
            spec["ipFamilies"] = spec.get("ipFamilies") or old_spec.get("ipFamilies") or ["IPv4"]
            spec["ipFamilyPolicy"] = (
                spec.get("ipFamilyPolicy") or old_spec.get("ipFamilyPolicy") or "SingleStack"
            )
        old_ports = {
            (p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
            for p in old_spec.get("ports") or []
            if isinstance(p, Mapping) and p.get("nodePort")
        }
        wants_node_ports = kind == "NodePort" or (
            kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts", True)
        )
        kept: set[int] = set()
        for i, port in enumerate(spec.get("ports") or []):
            if not isinstance(port, dict):
                continue
            previous = old_ports.get((port.get("port"), port.get("protocol", "TCP")))
            node_port = port.get("nodePort")
            if kind not in ("NodePort", "LoadBalancer"):
                continue  # validate() forbids a nodePort here
            if not node_port and previous:
                port["nodePort"] = previous
            elif node_port and not isinstance(node_port, int):
                continue
            elif (node_port or wants_node_ports) and (node_port != previous or not node_port):
                port["nodePort"] = self.allocator.allocate_node_port(owner, node_port or None, i)
            if port.get("nodePort"):
                kept.add(int(port["nodePort"]))
        for previous in old_ports.values():
            if previous and previous not in kept:
                self.allocator.release_node_port(int(previous))

    def released(self, obj: Mapping[str, Any]) -> None:
        self.allocator.release(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        causes = super().validate(obj)
        spec = obj.get("spec") or {}
        kind = spec.get("type", "ClusterIP")
        if kind not in _SERVICE_TYPES:
            return [*causes, not_supported("spec.type", kind, _SERVICE_TYPES)]
        affinity = spec.get("sessionAffinity", "None")
        if affinity not in ("ClientIP", "None"):
            causes.append(not_supported("spec.sessionAffinity", affinity, ("ClientIP", "None")))
        headless = spec.get("clusterIP") == "None"
        ports = spec.get("ports") or []
        if kind == "ExternalName":
            name = spec.get("externalName")
            if not name:
                causes.append(required("spec.externalName"))
            elif errs := dns1123_subdomain_errors(str(name).rstrip(".")):
                causes.append(invalid("spec.externalName", name, "; ".join(errs)))
        elif not ports and not headless:
            causes.append(required("spec.ports"))
        if headless and kind in ("NodePort", "LoadBalancer"):
            causes.append(
                invalid(
                    "spec.clusterIPs[0]", "None", f"may not be set to 'None' for {kind} services"
                )
            )
        names: set[str] = set()
        seen: set[tuple[Any, Any]] = set()
        for i, port in enumerate(ports):
            path = f"spec.ports[{i}]"
            if not isinstance(port, Mapping):
                continue
            name = port.get("name")
            if len(ports) > 1 and not name:
                causes.append(required(f"{path}.name"))
            elif name:
                if errs := dns1123_label_errors(str(name)):
                    causes.append(invalid(f"{path}.name", name, "; ".join(errs)))
                elif name in names:
                    causes.append(duplicate(f"{path}.name", name))
                names.add(str(name))
            number = port.get("port")
            if errs := _port_num_errors(number):
                causes.append(invalid(f"{path}.port", number, errs[0]))
            protocol = port.get("protocol", "TCP")
            if protocol not in ("SCTP", "TCP", "UDP"):
                causes.append(not_supported(f"{path}.protocol", protocol, ("SCTP", "TCP", "UDP")))
            key = (number, protocol)
            if key in seen:
                causes.append(duplicate(path, f"{number}/{protocol}"))
            seen.add(key)
            target = port.get("targetPort")
            if isinstance(target, int) and not isinstance(target, bool):
                if errs := _port_num_errors(target):
                    causes.append(invalid(f"{path}.targetPort", target, errs[0]))
            elif isinstance(target, str) and (errs := _port_name_errors(target)):
                causes.append(invalid(f"{path}.targetPort", target, "; ".join(errs)))
            if port.get("nodePort") and kind not in ("NodePort", "LoadBalancer"):
                causes.append(
                    forbidden(f"{path}.nodePort", f"may not be used when `type` is '{kind}'")
                )
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                causes.append(
                    invalid(
                        "spec.clusterIPs[0]",
                        ip,
                        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
                    )
                )
        if spec.get("selector") is not None:
            causes += _labels_causes(spec.get("selector"), "spec.selector")
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = super().validate_update(new, old)
        new_spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
        old_ip, new_ip = old_spec.get("clusterIP"), new_spec.get("clusterIP")
        changing_type = "ExternalName" in (new_spec.get("type"), old_spec.get("type"))
        if old_ip and new_ip and new_ip != old_ip and not changing_type:
            causes.append(
                invalid(
                    "spec.clusterIPs[0]",
                    new_spec.get("clusterIPs") or [new_ip],
                    "may not change once set",
                )
            )
        return causes

    def warnings(self, obj: Obj) -> list[str]:
        spec = obj.get("spec") or {}
        found = []
        for key in (
            "externalTrafficPolicy",
            "loadBalancerSourceRanges",
            "externalIPs",
            "healthCheckNodePort",
        ):
            if spec.get(key) and not (key == "externalTrafficPolicy" and spec[key] == "Cluster"):
                found.append(f"spec.{key}: {_UNACTED_NOTE}")
        if spec.get("sessionAffinity") == "ClientIP":
            found.append(f"spec.sessionAffinity: {_UNACTED_NOTE}")
        return found


# ---------------------------------------------------------------- namespaces, nodes


class NamespaceStrategy(Strategy):
    """namespaceStrategy: Active on create, the kubernetes finalizer, the name label."""

    name_check = staticmethod(dns1123_label_errors)

    def default(self, obj: Obj) -> None:
        name = _get(obj, "metadata", "name")
        if name:
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name

    def prepare_for_create(self, obj: Obj) -> None:
        super().prepare_for_create(obj)
        finalizers = obj.setdefault("spec", {}).setdefault("finalizers", [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")

    def init_status(self, obj: Obj) -> None:
        obj["status"] = {"phase": "Active"}

    def prepare_for_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_update(new, old)
        finalizers = _get(old, "spec", "finalizers")
        spec = new.setdefault("spec", {})
        if finalizers is None:
            spec.pop("finalizers", None)
        else:
            spec["finalizers"] = copy.deepcopy(finalizers)

    def canonicalize(self, obj: Obj) -> None:
        self.default(obj)

    def validate(self, obj: Obj) -> list[Cause]:
        causes = super().validate(obj)
        for i, finalizer in enumerate(_get(obj, "spec", "finalizers") or []):
            if errs := label_key_errors(str(finalizer)):
                causes.append(invalid(f"spec.finalizers[{i}]", finalizer, "; ".join(errs)))
        return causes


class NodeStrategy(Strategy):
    """nodeStrategy: status may be set on create; allocatable defaults to capacity."""

    reset_status_on_create = False

    def default(self, obj: Obj) -> None:
        status = obj.get("status")
        if isinstance(status, dict) and status.get("capacity") and "allocatable" not in status:
            status["allocatable"] = copy.deepcopy(status["capacity"])

    def prepare_for_status_update(self, new: Obj, old: Obj) -> None:
        super().prepare_for_status_update(new, old)
        self.default(new)


# ---------------------------------------------------------------- config


class ConfigMapStrategy(Strategy):
    def validate(self, obj: Obj) -> list[Cause]:
        causes = super().validate(obj)
        data = obj.get("data") or {}
        binary = obj.get("binaryData") or {}
        total = 0
        for section, values in (("data", data), ("binaryData", binary)):
            for key, value in values.items():
                if errs := _config_key_errors(str(key)):
                    causes.append(invalid(f"{section}[{key}]", key, "; ".join(errs)))
                if section == "binaryData" and key in data:
                    causes.append(
                        invalid(f"{section}[{key}]", key, "duplicate of key present in data")
                    )
                total += len(str(value))
        if total > 1024 * 1024:
            causes.append(too_long("", 1024 * 1024))
        return causes


_SECRET_REQUIRED_KEYS: Final[Mapping[str, tuple[str, ...]]] = {
    "kubernetes.io/tls": ("tls.crt", "tls.key"),
    "kubernetes.io/dockerconfigjson": (".dockerconfigjson",),
    "kubernetes.io/dockercfg": (".dockercfg",),
    "kubernetes.io/basic-auth": (),
    "kubernetes.io/ssh-auth": ("ssh-privatekey",),
}


class SecretStrategy(Strategy):
    """Secret: type Opaque; stringData is merged into data (base64) and never stored."""

    def default(self, obj: Obj) -> None:
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, Mapping) and string_data:
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()

    def validate(self, obj: Obj) -> list[Cause]:
        causes = super().validate(obj)
        data = obj.get("data") or {}
        total = 0
        for key, value in data.items():
            if errs := _config_key_errors(str(key)):
                causes.append(invalid(f"data[{key}]", key, "; ".join(errs)))
            total += len(str(value)) * 3 // 4
        if total > 1024 * 1024:
            causes.append(too_long("data", 1024 * 1024))
        kind = obj.get("type", "Opaque")
        for key in _SECRET_REQUIRED_KEYS.get(str(kind), ()):
            if key not in data:
                causes.append(required(f"data[{key}]"))
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = super().validate_update(new, old)
        if new.get("type", "Opaque") != old.get("type", "Opaque"):
            causes.append(invalid("type", new.get("type"), "field is immutable"))
        if old.get("immutable") and not semantic_equal(new.get("data"), old.get("data")):
            causes.append(forbidden("data", "field is immutable when `immutable` is set"))
        return causes


# ---------------------------------------------------------------- networking


def _default_endpoint_ports(ports: Iterable[Any]) -> None:
    for port in ports:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")


class EndpointsStrategy(Strategy):
    def default(self, obj: Obj) -> None:
        for subset in obj.get("subsets") or []:
            if isinstance(subset, Mapping):
                _default_endpoint_ports(subset.get("ports") or [])


class EndpointSliceStrategy(Strategy):
    """EndpointSlice: addressType required; ports default to TCP (SetDefaults_EndpointPort)."""

    def default(self, obj: Obj) -> None:
        for port in obj.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("name", "")

    def validate(self, obj: Obj) -> list[Cause]:
        causes = super().validate(obj)
        kind = obj.get("addressType")
        if not kind:
            causes.append(required("addressType"))
        elif kind not in ("IPv4", "IPv6", "FQDN"):
            causes.append(not_supported("addressType", kind, ("FQDN", "IPv4", "IPv6")))
        for i, endpoint in enumerate(obj.get("endpoints") or []):
            addresses = endpoint.get("addresses") if isinstance(endpoint, Mapping) else None
            if not addresses:
                causes.append(required(f"endpoints[{i}].addresses"))
        return causes


class PodDisruptionBudgetStrategy(_GenerationStrategy):
    def validate(self, obj: Obj) -> list[Cause]:
        causes = super().validate(obj)
        spec = obj.get("spec") or {}
        if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
            causes.append(
                invalid(
                    "spec",
                    None,
                    "minAvailable and maxUnavailable cannot be both set",
                    rendered="policy.PodDisruptionBudgetSpec{...}",
                )
            )
        for key in ("minAvailable", "maxUnavailable"):
            value = spec.get(key)
            if value is None:
                continue
            number, percent, error = _int_or_percent(value)
            if error:
                causes.append(invalid(f"spec.{key}", value, error))
            elif number is not None and number < 0:
                causes.append(invalid(f"spec.{key}", value, "must be greater than or equal to 0"))
            elif percent and number is not None and number > 100:
                causes.append(invalid(f"spec.{key}", value, "must not be greater than 100%"))
        if spec.get("selector") is not None:
            causes += _selector_causes(spec.get("selector"), "spec.selector")[0]
        return causes

    def warnings(self, obj: Obj) -> list[str]:
        return [f"spec: {_UNACTED_NOTE} (no eviction API or disruption controller)"]


# ---------------------------------------------------------------- CRDs


class CustomResourceDefinitionStrategy(_GenerationStrategy):
    """CRD: the apiextensions defaults and validation; status (accepted names, Established)
    is written by the store, standing in for the naming and establishing controllers."""

    name_check = None

    def default(self, obj: Obj) -> None:
        spec = obj.setdefault("spec", {})
        names = spec.setdefault("names", {})
        if names.get("kind"):
            names.setdefault("singular", str(names["kind"]).lower())
            names.setdefault("listKind", f"{names['kind']}List")
        spec.setdefault("conversion", {"strategy": "None"})
        for version in spec.get("versions") or []:
            if isinstance(version, dict):
                version.setdefault("served", True)
                version.setdefault("storage", False)

    def validate(self, obj: Obj) -> list[Cause]:
        causes = super().validate(obj)
        spec = obj.get("spec") or {}
        names = spec.get("names") or {}
        group = spec.get("group")
        if not group:
            causes.append(required("spec.group"))
        elif errs := dns1123_subdomain_errors(str(group)):
            causes.append(invalid("spec.group", group, "; ".join(errs)))
        elif "." not in str(group):
            causes.append(invalid("spec.group", group, "should be a domain with at least one dot"))
        for key in ("plural", "kind"):
            if not names.get(key):
                causes.append(required(f"spec.names.{key}"))
        plural = names.get("plural")
        name = _get(obj, "metadata", "name")
        if plural and group and name != f"{plural}.{group}":
            causes.append(
                invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
            )
        scope = spec.get("scope")
        if scope not in ("Cluster", "Namespaced"):
            causes.append(not_supported("spec.scope", scope, ("Cluster", "Namespaced")))
        versions = spec.get("versions") or []
        if not versions:
            causes.append(
                required("spec.versions", "must have exactly one version marked as storage version")
            )
        elif sum(1 for v in versions if v.get("storage")) != 1:
            causes.append(
                invalid(
                    "spec.versions",
                    None,
                    "must have exactly one version marked as storage version",
                    rendered="[]apiextensions.CustomResourceDefinitionVersion{...}",
                )
            )
        seen: set[str] = set()
        for i, version in enumerate(versions):
            vname = version.get("name")
            if not vname:
                causes.append(required(f"spec.versions[{i}].name"))
            elif vname in seen:
                causes.append(duplicate(f"spec.versions[{i}].name", vname))
            seen.add(str(vname))
            if not _get(version, "schema", "openAPIV3Schema"):
                causes.append(
                    required(f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required")
                )
        return causes

    def validate_update(self, new: Obj, old: Obj) -> list[Cause]:
        causes = super().validate_update(new, old)
        for key in ("scope",):
            if _get(new, "spec", key) != _get(old, "spec", key):
                causes.append(invalid(f"spec.{key}", _get(new, "spec", key), "field is immutable"))
        return causes


# ======================================================================= scale


def _json_path_get(obj: Mapping[str, Any], path: str) -> Any:
    return _get(obj, *[p for p in path.lstrip(".").split(".") if p])


def _json_path_set(obj: Obj, path: str, value: Any) -> None:
    parts = [p for p in path.lstrip(".").split(".") if p]
    cur = obj
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


def scale_of(rt: ResourceType, obj: Mapping[str, Any]) -> Obj:
    """The autoscaling/v1 Scale the /scale subresource returns for obj."""
    meta = obj.get("metadata") or {}
    if rt.scale is not None:
        spec_replicas = _json_path_get(obj, rt.scale.spec_replicas_path)
        status_replicas = _json_path_get(obj, rt.scale.status_replicas_path)
        selector = (
            _json_path_get(obj, rt.scale.label_selector_path)
            if rt.scale.label_selector_path
            else None
        )
    else:
        spec_replicas = _get(obj, "spec", "replicas")
        status_replicas = _get(obj, "status", "replicas")
        sel_spec = _get(obj, "spec", "selector")
        selector = str(LabelSelector.from_spec(sel_spec)) if isinstance(sel_spec, Mapping) else None
    status: Obj = {"replicas": int(status_replicas or 0)}
    if selector:
        status["selector"] = selector
    scale_meta = {
        k: meta[k]
        for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
        if k in meta
    }
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": int(spec_replicas or 0)} if spec_replicas else {},
        "status": status,
    }


def apply_scale(rt: ResourceType, obj: Obj, scale: Mapping[str, Any]) -> list[Cause]:
    """Write a Scale's spec.replicas into obj; returns validation causes (nothing written)."""
    replicas = _get(scale, "spec", "replicas")
    if replicas is None:
        replicas = 0
    if isinstance(replicas, bool) or not isinstance(replicas, int):
        return [invalid("spec.replicas", replicas, "must be an integer")]
    if replicas < 0:
        return [invalid("spec.replicas", replicas, "must be greater than or equal to 0")]
    path = rt.scale.spec_replicas_path if rt.scale is not None else ".spec.replicas"
    _json_path_set(obj, path, replicas)
    rv = _get(scale, "metadata", "resourceVersion")
    if rv:
        obj.setdefault("metadata", {})["resourceVersion"] = rv
    return []


# ======================================================================= lookup

_BY_KIND: Final[Mapping[tuple[str, str], type[Strategy]]] = {
    ("", "Pod"): PodStrategy,
    ("", "Namespace"): NamespaceStrategy,
    ("", "Node"): NodeStrategy,
    ("", "ConfigMap"): ConfigMapStrategy,
    ("", "Secret"): SecretStrategy,
    ("", "Endpoints"): EndpointsStrategy,
    ("apps", "Deployment"): DeploymentStrategy,
    ("apps", "ReplicaSet"): ReplicaSetStrategy,
    ("discovery.k8s.io", "EndpointSlice"): EndpointSliceStrategy,
    ("policy", "PodDisruptionBudget"): PodDisruptionBudgetStrategy,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): CustomResourceDefinitionStrategy,
}


def strategy_for(rt: ResourceType, *, allocator: ServiceAllocator | None = None) -> Strategy:
    """The strategy of a resource type; custom resources get customResourceStrategy."""
    if rt.custom:
        return CustomResourceStrategy(rt)
    if (rt.group, rt.kind) == ("", "Service"):
        return ServiceStrategy(rt, allocator)
    return _BY_KIND.get((rt.group, rt.kind), Strategy)(rt)
