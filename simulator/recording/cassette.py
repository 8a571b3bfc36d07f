"""Recorded interactions in memory, indexed by match key, each with how often it was played.

Several recordings of the same request are served in turn (round robin), so a load test that replays one
prompt many times sees each recorded answer, and its real variety of timings, in rotation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from simulator.recording.interaction import Interaction
from simulator.recording.matchers import MatchKey, match_key
from simulator.replies import Usage


@dataclasses.dataclass(frozen=True, slots=True)
class Playback:
    """A recording picked for replay, its bytes encoded once per cassette rather than once per request."""

    interaction: Interaction
    chunks: tuple[bytes, ...]  # the body, or one entry per SSE event
    usage: Usage | None


class Cassette:
    def __init__(self, interactions: Iterable[Interaction], match_on: Sequence[str], ignored_fields: Sequence[str]):
        self.interactions = list(interactions)
        self.play_counts = [0] * len(self.interactions)
        self._turns: dict[MatchKey, int] = {}
        self._playbacks: dict[int, Playback] = {}
        self._index: dict[MatchKey, list[int]] = {}
        for position, interaction in enumerate(self.interactions):
            key = match_key(interaction.request.view(ignored_fields), match_on)
            self._index.setdefault(key, []).append(position)

    def __len__(self) -> int:
        return len(self.interactions)

    def play(self, key: MatchKey) -> Playback | None:
        """The next recording for `key` in rotation, counted as played; None when nothing matches."""
        positions = self._index.get(key)
        if not positions:
            return None
        turn = self._turns.get(key, 0)
        self._turns[key] = turn + 1
        position = positions[turn % len(positions)]
        self.play_counts[position] += 1
        playback = self._playbacks.get(position)
        if playback is None:
            playback = self._playbacks[position] = _playback(self.interactions[position])
        return playback


def _playback(interaction: Interaction) -> Playback:
    response = interaction.response
    chunks = response.event_bytes() if response.is_stream else [response.content()]
    return Playback(interaction, tuple(chunks), response.usage())
