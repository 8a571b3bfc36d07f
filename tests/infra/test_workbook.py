"""The Azure Monitor workbook Terraform ships: valid workbook JSON whose queries are docs/observability.md's,
reading the metrics the simulator exports under the names it exports them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import hcl2

from simulator.telemetry.aggregates import HISTOGRAMS, OPEN_STREAMS, RATE_LIMITED

TERRAFORM = Path(__file__).resolve().parents[2] / "infra" / "terraform"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "observability.md"


def workbook() -> dict:
    return json.loads((TERRAFORM / "workbook.json").read_text())


def queries() -> dict[str, str]:
    return {item["name"]: item["content"]["query"] for item in workbook()["items"] if item["type"] == 3}


def test_workbook_is_a_notebook_of_log_queries_on_application_insights() -> None:
    document = workbook()
    assert document["version"] == "Notebook/1.0"
    for item in document["items"]:
        if item["type"] == 3:
            assert item["content"]["resourceType"] == "microsoft.insights/components"
            assert item["content"]["timeContextFromParameter"] == "TimeRange"


def test_queries_are_the_documented_ones() -> None:
    documented = re.findall(r"```kusto\n(.*?)\n```", DOCS.read_text(), flags=re.S)
    assert sorted(documented) == sorted(queries().values())


def test_queries_name_exported_metrics() -> None:
    names = set(re.findall(r'name == "([^"]+)"', "\n".join(queries().values())))
    exported = {spec.name for spec in HISTOGRAMS} | {RATE_LIMITED, OPEN_STREAMS}
    assert names and names <= exported, names - exported


def test_terraform_ships_it_on_application_insights() -> None:
    resources = {}
    for block in hcl2.loads((TERRAFORM / "monitoring.tf").read_text())["resource"]:
        for kind, named in block.items():
            for name, body in named.items():
                resources[(kind.strip('"'), name.strip('"'))] = body
    book = resources[("azurerm_application_insights_workbook", "simulator")]
    assert book["source_id"] == "${lower(azurerm_application_insights.this.id)}"
    assert "workbook.json" in book["data_json"]
