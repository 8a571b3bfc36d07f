import random

import pytest

from simulator.generators.lorem import PIECES, WORDS, lorem_pieces
from simulator.tokens import count_text, encoding

ENCODINGS = ("cl100k_base", "o200k_base")


@pytest.mark.parametrize("name", ENCODINGS)
def test_every_piece_is_one_token(name: str) -> None:
    enc = encoding(name)
    for word in WORDS:
        assert len(enc.encode(" " + word)) == 1, word
        assert len(enc.encode(" " + word.capitalize())) == 1, word
        assert len(enc.encode(word.capitalize())) == 1, word
    assert all(len(enc.encode(piece)) == 1 for piece in set(PIECES))


@pytest.mark.parametrize("name", ENCODINGS)
def test_joined_pieces_tokenize_to_their_count(name: str) -> None:
    rng = random.Random(7)
    for count in [*range(1, 60), 100, 257, 1000, 5000, 20000]:
        pieces = lorem_pieces(count, rng)
        assert len(pieces) == count
        assert count_text("".join(pieces), name) == count, count


def test_text_reads_as_sentences() -> None:
    pieces = lorem_pieces(40, random.Random(3))
    text = "".join(pieces)
    assert text[0].isupper() and not text.startswith(" ")
    assert text.endswith(".")
    assert ",." not in text and ".." not in text


def test_same_seed_same_text() -> None:
    assert lorem_pieces(50, random.Random(11)) == lorem_pieces(50, random.Random(11))
    assert lorem_pieces(50, random.Random(11)) != lorem_pieces(50, random.Random(12))
