"""The wrapper k6 runs (thresholds and handleSummary from the harness) and k6's own message."""

from __future__ import annotations

import json
from pathlib import Path

from harness.load import PLATFORM_GATE, Threshold
from harness.load.process import k6_message, write_wrapper


def test_wrapper_adds_thresholds_stats_and_summary(tmp_path: Path) -> None:
    script = tmp_path / "scripts" / "steady.js"
    script.parent.mkdir()
    script.write_text("export default function () {}\n")
    thresholds = (*PLATFORM_GATE.thresholds, Threshold("http_req_duration", "p(99.9)<100"))
    wrapper = write_wrapper(tmp_path / "wrapper.js", script, thresholds, tmp_path / "summary.json")
    text = wrapper.read_text()
    assert f'import * as script from "{script.as_uri()}";' in text
    assert f'export * from "{script.as_uri()}";' in text
    assert '"p(95)<2000"' in text
    assert '"abortOnFail": true' in text and '"delayAbortEval": "5s"' in text
    assert '"p(99.9)"' in text and '"p(50)"' in text and '"p(99)"' in text
    assert f"[{json.dumps(str(tmp_path / 'summary.json'))}]: JSON.stringify(data" in text
    assert "export function handleSummary(data)" in text


def test_k6_message_is_its_error_lines_unescaped(tmp_path: Path) -> None:
    log = tmp_path / "k6.log"
    log.write_text(
        'time="2026-01-01T00:00:00Z" level=warning msg="Request Failed" error="refused"\n'
        'time="2026-01-01T00:00:00Z" level=error msg="GoError: file:///x/broken.js: Line 1:67 '
        'Unexpected token } (and 2 more errors)\\n" hint="script exception"\n'
    )
    assert k6_message(log) == (
        "GoError: file:///x/broken.js: Line 1:67 Unexpected token } (and 2 more errors) "
        "(hint: script exception)"
    )


def test_without_error_lines_the_tail_of_the_log(tmp_path: Path) -> None:
    log = tmp_path / "k6.log"
    log.write_text("".join(f"line {n}\n" for n in range(40)))
    message = k6_message(log)
    assert message.splitlines()[-1] == "line 39" and "line 24" not in message
