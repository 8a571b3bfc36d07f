"""Prompts the scenarios cycle through: varied lengths so the load is not one repeated request."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

PROMPTS = (
    "Summarise the benefits of load testing an API before a product launch in three sentences.",
    "Write a short, friendly reply to a customer asking when their order will arrive.",
    "Explain what a token bucket rate limiter is to a junior developer, with one example.",
    "List five questions to ask when choosing a region for a cloud deployment, and why each matters.",
    "Translate into French: 'The report is ready; please review it before the meeting on Thursday.'",
    "Draft a commit message for a change that adds retries with back-off to an HTTP client.",
)

PASSAGES = (
    "Azure OpenAI deployments enforce tokens-per-minute and requests-per-minute quotas.",
    "A 429 answer carries retry-after headers that tell the client how long to wait.",
    "Time to first token grows with the length of the prompt the model must read first.",
    "Provisioned throughput units trade a fixed monthly price for predictable latency.",
)


def cycle_from(texts: tuple[str, ...], offset: int) -> Iterator[str]:
    """Each user starts at a different text (its offset), so concurrent users do not send the same one."""
    return itertools.islice(itertools.cycle(texts), offset % len(texts), None)
