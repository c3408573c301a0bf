"""The kubeconfig the simulator writes for kubectl and the official client: one cluster, one
bearer-token user, one context; written atomically with mode 0600 so only its owner reads the token.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["CONTEXT_NAME", "KubeconfigEntry", "new_token", "read_kubeconfig", "write_kubeconfig"]

CONTEXT_NAME = "harness-simulator"


def new_token() -> str:
    """A random bearer token (256 bits), URL-safe so it fits in a header without escaping."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class KubeconfigEntry:
    """What a client needs from the file. `repr` hides the token so it never reaches a log."""

    server: str
    token: str
    context: str = CONTEXT_NAME
    namespace: str = "default"

    def __repr__(self) -> str:
        return f"KubeconfigEntry(server={self.server!r}, context={self.context!r}, token=<hidden>)"


def _document(entry: KubeconfigEntry) -> dict[str, Any]:
    name = entry.context
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": name, "cluster": {"server": entry.server}}],
        "users": [{"name": name, "user": {"token": entry.token}}],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": name, "user": name, "namespace": entry.namespace},
            }
        ],
        "current-context": name,
    }


def write_kubeconfig(path: Path, entry: KubeconfigEntry) -> Path:
    """Write `path` atomically (temp file + rename) with mode 0600 from the first byte."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(_document(entry), sort_keys=False)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)  # in case a umask or ACL widened it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return path


def read_kubeconfig(path: Path, context: str | None = None) -> KubeconfigEntry:
    """Server and token of `context` (the current one by default) in a token-user kubeconfig."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a kubeconfig")
    wanted = context or document.get("current-context")
    contexts = {c["name"]: c["context"] for c in document.get("contexts") or []}
    if wanted not in contexts:
        raise ValueError(f"{path} has no context {wanted!r}")
    ctx = contexts[wanted]
    clusters = {c["name"]: c["cluster"] for c in document.get("clusters") or []}
    users = {u["name"]: u["user"] for u in document.get("users") or []}
    server = str(clusters[ctx["cluster"]]["server"])
    token = str(users[ctx["user"]].get("token", ""))
    return KubeconfigEntry(server, token, str(wanted), str(ctx.get("namespace") or "default"))
