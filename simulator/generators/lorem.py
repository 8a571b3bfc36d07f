"""Lorem-style text whose token count is known without running a tokenizer.

Every piece of the corpus is exactly one token under both cl100k_base and o200k_base, and the
pre-tokenizers of both split the joined text back at the same boundaries (a word keeps its leading
space; punctuation never touches punctuation). So `n` pieces are `n` tokens: tests check this with
tiktoken, and the hot path never tokenizes what it generated.
"""

from __future__ import annotations

import random

WORDS = [
    "lorem",
    "sit",
    "do",
    "ut",
    "et",
    "ad",
    "ex",
    "in",
    "non",
    "qui",
    "anim",
    "id",
    "est",
    "the",
    "of",
    "and",
    "to",
    "a",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "one",
    "all",
    "we",
    "their",
    "can",
    "has",
    "more",
    "will",
    "would",
    "when",
    "what",
    "so",
    "if",
    "out",
    "up",
    "some",
    "time",
    "only",
    "into",
    "them",
    "other",
    "new",
    "than",
    "then",
    "now",
    "its",
    "our",
    "these",
    "also",
    "two",
    "first",
    "any",
    "may",
    "such",
    "very",
    "well",
    "must",
    "great",
    "good",
    "each",
    "where",
]

CORPUS_SEED = 20241021
CORPUS_SIZE = 8192


def _build_corpus() -> tuple[tuple[str, ...], tuple[int, ...]]:
    rng = random.Random(CORPUS_SEED)
    pieces: list[str] = []
    starts: list[int] = []
    # Every piece is one of a few hundred strings: share them rather than hold 8,192 copies in every process.
    spaced = {word: " " + word for word in WORDS}
    opening = {word: " " + word.capitalize() for word in WORDS}
    while len(pieces) < CORPUS_SIZE:
        starts.append(len(pieces))
        words = [rng.choice(WORDS) for _ in range(rng.randint(5, 16))]
        pieces.append(opening[words[0]])
        for index, word in enumerate(words[1:], start=1):
            if index > 2 and index < len(words) - 2 and rng.random() < 0.08:
                pieces.append(",")
            pieces.append(spaced[word])
        pieces.append(".")
    return tuple(pieces), tuple(starts)


PIECES, SENTENCE_STARTS = _build_corpus()


def lorem_pieces(count: int, rng: random.Random) -> list[str]:
    """`count` one-token pieces that read as sentences; the last is a full stop when `count` > 1."""
    if count <= 0:
        return []
    start = SENTENCE_STARTS[rng.randrange(len(SENTENCE_STARTS) // 2)]
    pieces: list[str] = []
    while len(pieces) < count:
        pieces.extend(PIECES[start : start + count - len(pieces)])
        start = 0
    if pieces[0].startswith(" "):
        pieces[0] = pieces[0][1:]
    if count > 1 and pieces[-1] != ".":
        if pieces[-2] in (",", "."):  # ",." would merge into one token
            pieces[-2] = " " + WORDS[0]
        pieces[-1] = "."
    return pieces
