"""Chooses the fault, if any, for a request: per-request header first, then the deployment's rules.

Rules fire always, at a seeded rate, or for the first N requests. Counters and random sources belong to
(deployment, rule), so one deployment's traffic never changes another's sequence, and a config change
that keeps a rule keeps its counter (add `key=` to start a fresh one). Counters are per process: with
several instances, "first N" holds on each.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from simulator.context import OpenAIRequest
from simulator.errors import OpenAIError
from simulator.faults.decisions import Decision, decide
from simulator.faults.spec import FaultRule, parse_fault
from simulator.ratelimit.policy import DEFAULT_REGION
from simulator.settings import SettingsError

HEADER = "x-simulator-fault"
ALL_DEPLOYMENTS = "*"


@dataclasses.dataclass(frozen=True, slots=True)
class FaultConfig:
    """The `faults` section of the runtime config: deployment name (or `*`) → rules, tried in order."""

    rules: Mapping[str, tuple[FaultRule, ...]] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_json(cls, document: Any) -> FaultConfig:
        if document is None:
            return cls()
        if not isinstance(document, Mapping):
            raise SettingsError("faults: expected an object of deployment name (or '*') → list of faults")
        rules = {}
        for name, entries in document.items():
            if isinstance(entries, str):
                entries = [entries]
            if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
                raise SettingsError(f"faults.{name}: expected a list of fault strings such as '429; rate=0.1'")
            rules[name] = tuple(parse_fault(entry) for entry in entries)
        return cls(MappingProxyType(rules))

    def to_json(self) -> dict[str, list[str]]:
        return {name: [rule.text for rule in rules] for name, rules in self.rules.items()}

    def for_deployment(self, name: str) -> tuple[FaultRule, ...]:
        return self.rules.get(name, ()) + self.rules.get(ALL_DEPLOYMENTS, ())


class _Trigger:
    __slots__ = ("random", "seen")

    def __init__(self, seed: int) -> None:
        self.seen = 0
        self.random = random.Random(seed)

    def fires(self, rule: FaultRule) -> bool:
        self.seen += 1
        if rule.first is not None:
            return self.seen <= rule.first
        if rule.rate is not None:
            return self.random.random() < rule.rate
        return True


class FaultInjector:
    """Long-lived (it holds the counters); pass the current `FaultConfig` to each `choose`."""

    def __init__(
        self,
        seed: int = 0,
        *,
        header: str | None = HEADER,
        max_counters: int = 10_000,
        region: str = DEFAULT_REGION,
    ) -> None:
        self.seed = seed
        self.header = header
        self.region = region  # named in injected 429s, as in the limiter's
        self._triggers: OrderedDict[tuple[str, str], _Trigger] = OrderedDict()
        self._max = max_counters
        self._parsed: dict[str, FaultRule] = {}

    def choose(self, request: OpenAIRequest, config: FaultConfig) -> Decision | None:
        """Call once per request, after it is parsed and counted and before any answer is generated.
        A malformed header raises `OpenAIError` 400."""
        deployment = request.deployment.name
        header = request.headers.get(self.header) if self.header else None
        if header:
            rule = self._header_rule(header)
            if self._trigger(deployment, rule).fires(rule):
                return decide(rule, request, self.region)
        for rule in config.for_deployment(deployment):
            if self._trigger(deployment, rule).fires(rule):
                return decide(rule, request, self.region)
        return None

    def _header_rule(self, text: str) -> FaultRule:
        rule = self._parsed.get(text)
        if rule is None:
            try:
                rule = parse_fault(text)
            except SettingsError as error:
                raise OpenAIError(400, "BadRequest", f"{self.header}: {error}") from None
            if len(self._parsed) >= self._max:
                self._parsed.clear()
            self._parsed[text] = rule
        return rule

    def _trigger(self, deployment: str, rule: FaultRule) -> _Trigger:
        key = (deployment, rule.key or rule.text)
        trigger = self._triggers.get(key)
        if trigger is None:
            seed = zlib.crc32(f"{self.seed}|{deployment}|{key[1]}".encode())
            trigger = self._triggers[key] = _Trigger(seed)
            if len(self._triggers) > self._max:  # header keys are client-chosen: stay bounded
                self._triggers.popitem(last=False)
        else:
            self._triggers.move_to_end(key)
        return trigger
