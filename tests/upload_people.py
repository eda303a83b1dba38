"""Lists of people with varied, made-up names for upload tests that run the whole way
(the duplicate scan after an upload included): "Health Worker 1-23" style names are all
alike, so every row would be a probable duplicate of its neighbours."""

from __future__ import annotations

import random

from tests.factories import aadhaar_number

SYLLABLES = "ka ri sha ma nu de vi pra ja ya la ta ne so ru mi bha go ha ki pa lo sa vee ra ni ku tu be che".split()


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def varied_rows(n: int, *, seed: int = 0) -> list[list[str]]:
    """Rows in the column order of tests.uploads.HEADER."""
    rng = random.Random(seed)
    return [
        [f"{_word(rng)} {_word(rng)}", rng.choice("MF"), str(1950 + rng.randrange(50)), f"9{seed % 10}{i:08d}",
         "aadhaar", aadhaar_number(seed * 1_000_000 + i), rng.choice(["HCW", "FLW"]), "District Hospital"]
        for i in range(n)
    ]  # fmt: skip
