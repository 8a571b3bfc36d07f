"""The README's settings table and local.settings.sample.json come from the code: regenerate, don't edit."""

import json

from simulator.settings import documented_settings
from simulator.settings_docs import ROOT, markdown_table, readme_with_table, sample_json


def test_readme_table_is_current() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme_with_table(readme) == readme, "run: python -m simulator.settings_docs"
    assert markdown_table() in readme


def test_sample_settings_are_current() -> None:
    sample = (ROOT / "local.settings.sample.json").read_text(encoding="utf-8")
    assert sample == sample_json(), "run: python -m simulator.settings_docs"
    values = json.loads(sample)["Values"]
    assert {row.env for row in documented_settings()} <= set(values)
    assert all(values[row.env] == "" for row in documented_settings() if row.secret)
