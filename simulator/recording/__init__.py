"""Record and replay: a recording proxy to Azure OpenAI and a replayer of what it recorded.

The pieces follow vcrpy's split: `cassette` (interactions in memory, indexed), `matchers`, `serializer`
(versioned YAML), `filters` (secrets and noise), `persisters` (files, Blob Storage), plus the `forwarder`
(aiohttp to the real service), the `recorder` and the `replayer` that the request pipeline calls.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simulator.recording.config import RecordingConfig, UnmatchedPolicy
from simulator.recording.persisters import Persister

if TYPE_CHECKING:
    from simulator.recording.recorder import Recorder
    from simulator.recording.replayer import Replayer


def __getattr__(name: str) -> object:
    """The recorder (aiohttp) and replayer (YAML) are imported when a mode first needs them."""
    if name == "Recorder":
        from simulator.recording.recorder import Recorder

        return Recorder
    if name == "Replayer":
        from simulator.recording.replayer import Replayer

        return Replayer
    raise AttributeError(name)


def open_persister(config: RecordingConfig) -> Persister:
    """Blob Storage when a connection string or account URL is configured, otherwise the directory."""
    if config.blob_connection_string:
        from simulator.recording.persisters.blob import BlobPersister

        return BlobPersister.from_connection_string(
            config.blob_connection_string, config.blob_container, prefix=config.blob_prefix
        )
    if config.blob_account_url:
        from simulator.recording.persisters.blob import BlobPersister

        return BlobPersister.from_account_url(config.blob_account_url, config.blob_container, prefix=config.blob_prefix)
    from simulator.recording.persisters.files import FilePersister

    return FilePersister(config.directory)


__all__ = ["Persister", "Recorder", "RecordingConfig", "Replayer", "UnmatchedPolicy", "open_persister"]
