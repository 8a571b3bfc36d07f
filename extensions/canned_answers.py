"""Example extension: chat answers from a YAML file of prompt → answer pairs, for demos and scripted tests.

    EXTENSION_PATH=extensions/canned_answers.py make run
    CANNED_ANSWERS_PATH=my-answers.yaml   # default: canned_answers.yaml beside this file

A request whose last user message matches a prompt (case, spacing and trailing punctuation aside) gets its
answer, whole or streamed, with usage counted from it; other requests get the simulator's usual answer.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from simulator import extend


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip("?!.").casefold()


def load_answers(path: Path) -> dict[str, str]:
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(document, dict) or not all(isinstance(v, str) for v in document.values()):
        raise ValueError(f"{path}: expected a mapping of prompt → answer (both text)")
    return {normalise(str(prompt)): answer for prompt, answer in document.items()}


def initialize(simulator: extend.Simulator) -> None:
    path = Path(os.environ.get("CANNED_ANSWERS_PATH") or simulator.path.with_name("canned_answers.yaml"))
    answers = load_answers(path)
    simulator.log.info("%d canned answers from %s", len(answers), path)

    def canned(prompt: extend.Prompt) -> str | None:
        return answers.get(normalise(prompt.last_user_text))

    simulator.add_generator(extend.Operation.CHAT_COMPLETIONS, canned)
