"""`python -m bench.soak` in miniature: two 2-second 'minutes' with hostile clients, every figure reported."""

from __future__ import annotations

import re

import pytest

from bench import soak


def test_a_tiny_soak_reports_each_minute_and_the_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    soak.main(["--minutes", "2", "--minute-seconds", "2", "--connections", "8"])
    output = capsys.readouterr().out
    minutes = re.findall(r"minute +\d+: .* 5xx (\d+) .* resident [\d.]+ MiB .* µs per answer", output)
    assert minutes == ["0", "0"], output
    assert re.search(r"hostile clients \(3\): \{.*'4xx': [1-9]", output), output
    assert "5xx 0 (limit 0)" in output
