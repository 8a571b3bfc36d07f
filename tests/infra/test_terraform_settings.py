"""The Function App's app settings in Terraform and the simulator's `Settings` are one list.

`simulator.settings.documented_settings()` is the source of truth. These tests parse infra/terraform with
python-hcl2 and fail when Terraform sets a name nobody reads, misses a simulator setting, drifts from a
default, or hands a secret over as a literal. A new field in `Settings` fails `test_every_simulator_setting_is_set`
until app_settings.tf gets its line.

Which settings must be set on Azure, and by whom (`local.simulator_wired`, not overridable):
- SIMULATOR_MODE and SIMULATOR_API_KEY: the app is public; the key comes from `random_password`.
- AZURE_STORAGE_ACCOUNT_URL and RECORDING_CONTAINER, and any setting naming a blob container (`*_CONTAINER`) or
  a table (`*_TABLE`): instances share recordings, limits and config only through the storage Terraform creates.
- APPLICATIONINSIGHTS_CONNECTION_STRING: set through `site_config` (the provider owns that app setting).
Every other simulator setting is set to its default in `local.simulator_defaults`, for operators to change.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from simulator.settings import SettingDoc, documented_settings
from simulator.settings_docs import FUNCTIONS_VALUES

TERRAFORM = Path(__file__).resolve().parents[2] / "infra" / "terraform"
LOCAL_SETTINGS = TERRAFORM.parents[1] / "local.settings.sample.json"

# Settings of the Functions host and the Azure SDKs that Terraform may set, and why.
PLATFORM_SETTINGS = {
    "AzureWebJobsStorage": "emptied: the provider injects a key-based value even for identity auth",
    "AzureWebJobsStorage__accountName": "host storage by identity",
    "AzureWebJobsStorage__credential": "host storage by identity",
    "AzureWebJobsStorage__clientId": "host storage by the user-assigned identity",
    "APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "Entra ID ingestion into Application Insights",
    "APPLICATIONINSIGHTS_CONNECTION_STRING": "Functions host telemetry (set through site_config)",
    "PYTHON_ENABLE_INIT_INDEXING": "HTTP streaming on Python <= 3.12",
    "AZURE_CLIENT_ID": "DefaultAzureCredential picks the user-assigned identity",
    "FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": "host request body limit",
}

# Simulator settings announced for `Settings` and already set by Terraform. Remove a name once it is documented
# (test_pending_settings_are_not_yet_documented says when).
PENDING_SIMULATOR_SETTINGS: set[str] = set()

REQUIRED_ON_AZURE = {"SIMULATOR_MODE", "SIMULATOR_API_KEY", "AZURE_STORAGE_ACCOUNT_URL", "RECORDING_CONTAINER"}
STORAGE_NAME_SUFFIXES = ("_CONTAINER", "_TABLE")
SET_BY_SITE_CONFIG = {"APPLICATIONINSIGHTS_CONNECTION_STRING": "application_insights_connection_string"}
NEVER_ON_AZURE = {
    "AZURE_STORAGE_CONNECTION_STRING": "shared keys are disabled: storage is reached by identity",
    "WEBSITE_HOSTNAME": "set by the platform itself",
}

APP_SETTINGS_MERGE = "${merge(local.platform_settings, local.simulator_settings, var.extra_app_settings)}"
SIMULATOR_SETTINGS_MERGE = "${merge(local.simulator_defaults, var.simulator_settings, local.simulator_wired)}"


@dataclasses.dataclass(frozen=True)
class Terraform:
    """The parts of infra/terraform these checks read, with hcl2's quoting removed from names."""

    locals: dict[str, Any]
    resources: dict[tuple[str, str], dict[str, Any]]
    variables: dict[str, dict[str, Any]]

    def local_map(self, name: str) -> dict[str, str]:
        value = self.locals[name]
        assert isinstance(value, dict), f"local.{name} must be an object literal so it can be checked"
        return value

    @property
    def function_app(self) -> dict[str, Any]:
        return self.resources[("azurerm_function_app_flex_consumption", "this")]

    @property
    def site_config(self) -> dict[str, Any]:
        return self.function_app["site_config"][0]

    @property
    def simulator_names(self) -> set[str]:
        names = set(self.local_map("simulator_defaults")) | set(self.local_map("simulator_wired"))
        return names | {name for name, argument in SET_BY_SITE_CONFIG.items() if argument in self.site_config}

    @property
    def app_setting_names(self) -> set[str]:
        return set(self.local_map("platform_settings")) | self.simulator_names


@cache
def terraform() -> Terraform:
    locals_: dict[str, Any] = {}
    resources: dict[tuple[str, str], dict[str, Any]] = {}
    variables: dict[str, dict[str, Any]] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        parsed = hcl2.loads(path.read_text())
        for block in parsed.get("locals", []):
            locals_.update(block)
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    resources[(_unquote(kind), _unquote(name))] = body
        for block in parsed.get("variable", []):
            for name, body in block.items():
                variables[_unquote(name)] = body
    return Terraform(locals_, resources, variables)


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def literal(value: Any) -> str | None:
    """The string a literal HCL value holds; None for expressions and interpolations."""
    if isinstance(value, str) and value.startswith('"') and "${" not in value:
        return _unquote(value)
    return None


def documented() -> dict[str, SettingDoc]:
    return {row.env: row for row in documented_settings()}


def test_the_function_app_gets_the_merged_maps() -> None:
    config = terraform()
    assert config.function_app["app_settings"] == "${local.app_settings}"
    assert config.locals["app_settings"] == APP_SETTINGS_MERGE
    assert config.locals["simulator_settings"] == SIMULATOR_SETTINGS_MERGE


def test_every_app_setting_is_read_by_someone() -> None:
    known = set(documented()) | set(PLATFORM_SETTINGS) | PENDING_SIMULATOR_SETTINGS
    unknown = sorted(terraform().app_setting_names - known)
    assert not unknown, f"Terraform sets {unknown}: neither simulator settings nor allow-listed platform settings"


def test_simulator_maps_hold_only_simulator_settings() -> None:
    simulator = set(documented()) | PENDING_SIMULATOR_SETTINGS
    stray = sorted(terraform().simulator_names - simulator - set(SET_BY_SITE_CONFIG))
    assert not stray, f"{stray} are not simulator settings: move them to local.platform_settings or remove them"


def test_every_simulator_setting_is_set() -> None:
    missing = sorted(set(documented()) - terraform().simulator_names - set(NEVER_ON_AZURE))
    lines = "\n".join(f'    {name} = "{documented()[name].default}"' for name in missing)
    assert not missing, f"add to local.simulator_defaults (or simulator_wired) in app_settings.tf:\n{lines}"


def test_required_settings_are_wired() -> None:
    storage_names = {name for name in documented() if name.endswith(STORAGE_NAME_SUFFIXES)}
    wired = terraform().local_map("simulator_wired")
    missing = sorted((REQUIRED_ON_AZURE | storage_names) - set(wired))
    assert not missing, f"{missing} must be in local.simulator_wired, set from variables or resources"


def test_storage_names_point_at_terraform_resources() -> None:
    wired = terraform().local_map("simulator_wired")
    for name, value in wired.items():
        if name.endswith("_CONTAINER"):
            assert value.startswith("${azurerm_storage_container."), f"{name} = {value}"
        if name.endswith("_TABLE"):
            assert value.startswith("${azurerm_storage_table."), f"{name} = {value}"


def test_wired_settings_cannot_be_overridden() -> None:
    [validation] = terraform().variables["simulator_settings"]["validation"]
    for name in [*terraform().local_map("simulator_wired"), *NEVER_ON_AZURE]:
        assert f'"{name}"' in validation["condition"], f"var.simulator_settings validation must reject {name}"


def test_defaults_match_the_simulator() -> None:
    rows = documented()
    for name, value in terraform().local_map("simulator_defaults").items():
        if name in rows:
            assert literal(value) == rows[name].default, f"{name}: Terraform {value}, simulator {rows[name].default!r}"


@pytest.mark.parametrize("name", sorted(row.env for row in documented_settings() if row.secret))
def test_secrets_come_from_sensitive_sources(name: str) -> None:
    config = terraform()
    assert name not in config.local_map("simulator_defaults"), f"{name} is a secret: wire it, do not default it"
    value = config.local_map("simulator_wired").get(name)
    if value is None:
        return  # not set on Azure at all
    generated = re.fullmatch(r"\$\{random_password\.\w+\.result\}", value)
    variable = re.fullmatch(r"\$\{var\.(\w+)\}", value)
    assert generated or variable, f"{name} = {value}: expected a random_password or a variable"
    if variable:
        assert config.variables[variable.group(1)].get("sensitive") is True, f"var.{variable.group(1)} not sensitive"


def test_never_on_azure() -> None:
    present = sorted(set(NEVER_ON_AZURE) & terraform().app_setting_names)
    assert not present, f"{present}: {[NEVER_ON_AZURE[name] for name in present]}"


def test_application_insights_by_site_config() -> None:
    config = terraform()
    assert "APPLICATIONINSIGHTS_CONNECTION_STRING" not in config.local_map("platform_settings")
    assert config.site_config["application_insights_connection_string"].startswith("${azurerm_application_insights.")


def test_platform_settings_for_streaming_and_identity() -> None:
    platform = terraform().local_map("platform_settings")
    assert literal(platform["PYTHON_ENABLE_INIT_INDEXING"]) == "1"
    assert literal(platform["AzureWebJobsStorage__credential"]) == "managedidentity"
    assert literal(platform["AzureWebJobsStorage"]) == ""
    identity = "${azurerm_user_assigned_identity.this.client_id}"
    assert platform["AzureWebJobsStorage__clientId"] == platform["AZURE_CLIENT_ID"] == identity


def test_storage_is_reached_by_identity_only() -> None:
    config = terraform()
    assert config.resources[("azurerm_storage_account", "this")]["shared_access_key_enabled"] is False
    assert literal(config.function_app["storage_authentication_type"]) == "UserAssignedIdentity"
    assert "storage_access_key" not in config.function_app


def test_pending_settings_are_not_yet_documented() -> None:
    landed = sorted(PENDING_SIMULATOR_SETTINGS & set(documented()))
    assert not landed, f"{landed} are in Settings now: remove them from PENDING_SIMULATOR_SETTINGS"


def test_variables_are_documented() -> None:
    for name, body in terraform().variables.items():
        assert body.get("type"), f"var.{name} has no type"
        assert literal(body.get("description")), f"var.{name} has no description"


# What the real Python worker needs from its environment to serve this app (tests/functions/test_worker_settings.py
# shows the worker failing to load the app without it), and where a Function App on Flex Consumption gets it.
WORKER_NEEDS = {"PYTHON_ENABLE_INIT_INDEXING": "1"}
# Host settings of local.settings.json that differ on Azure on purpose.
LOCAL_ONLY_VALUES = {"AzureWebJobsStorage": "Azurite locally; on Azure the host's storage is reached by identity"}


def local_values() -> dict[str, str]:
    return json.loads(LOCAL_SETTINGS.read_text(encoding="utf-8"))["Values"]


def test_local_settings_and_terraform_give_the_worker_what_it_needs() -> None:
    """The stand-in host of tests/functions starts the real worker with local.settings.sample.json's values, as
    Core Tools does; Azure starts it with the Terraform app settings. Both must hold what the worker needs."""
    platform = terraform().local_map("platform_settings")
    for name, value in WORKER_NEEDS.items():
        assert local_values().get(name) == value, f"local.settings.sample.json: {name} must be {value!r}"
        assert literal(platform.get(name)) == value, f"app_settings.tf platform_settings: {name} must be {value!r}"


def test_host_values_agree_between_local_settings_and_terraform() -> None:
    platform = terraform().local_map("platform_settings")
    for name, value in FUNCTIONS_VALUES.items():
        assert local_values()[name] == value
        if name == "FUNCTIONS_WORKER_RUNTIME":  # Flex Consumption takes the runtime from the app's config instead
            assert name not in platform
            assert literal(terraform().function_app["runtime_name"]) == value
        elif name not in LOCAL_ONLY_VALUES:
            assert literal(platform.get(name)) == value, f"{name}: local {value!r}, Terraform {platform.get(name)}"


def test_the_worker_under_test_runs_a_python_the_function_app_allows() -> None:
    """The worker tests run this interpreter; the Function App's Python version must be one it could be."""
    [validation] = terraform().variables["python_version"]["validation"]
    assert f'"{sys.version_info.major}.{sys.version_info.minor}"' in validation["condition"]
    assert literal(terraform().variables["python_version"]["default"]) in ("3.11", "3.12")
