"""Run by test_crash: append recordings to a directory forever, printing the count after each save."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from simulator.recording.interaction import Interaction, RecordedRequest, RecordedResponse
from simulator.recording.persisters.files import FilePersister
from simulator.recording.writer import CassetteWriter

# An embedding-sized answer, so each save writes enough bytes to be caught in the middle.
BODY = b'{"data":[{"embedding":[' + b",".join(b"0.0123456789" for _ in range(1536)) + b"]}]}"


async def main(root: Path) -> None:
    writer = CassetteWriter(FilePersister(root))
    saved = 0
    while True:
        for name in ("emb/embeddings.yaml", "gpt-4o/chat-completions.yaml"):
            request = RecordedRequest("POST", f"/openai/deployments/{name}", body={"input": f"text {saved}"})
            writer.add(name, Interaction(request, RecordedResponse.from_body(200, {}, 0.01, BODY)))
            saved += await writer.flush(name)
        print(saved, flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
