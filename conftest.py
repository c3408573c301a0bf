"""Repository-wide pytest settings. The harness fixtures come from the installed plugin
(entry point `harness = harness.pytest_plugin`), exactly as they do in a user's project."""

from __future__ import annotations

import os

# kubectl caches discovery for 6 h per host:port; simulators reuse ports across runs.
os.environ.setdefault(
    "KUBECACHEDIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "harness-kubecache")
)
