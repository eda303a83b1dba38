"""Finding probable duplicates: one person registered under two IDs (SPEC §3 guard 2).

Comparing every pair of a district's people is quadratic (100,000 people are five
billion pairs), so people are first put into *blocks* that a real duplicate almost
certainly shares, and only people within a block are compared:

- the same mobile number;
- the same birth year and the same phonetic code of one name token (each token of the
  latinised name gives one block, so "Sharma Sunita" meets "Sunita Sharma" and a
  missing middle name still leaves a shared token);
- the same birth year and the same phonetic code of the whole name (tokens sorted).

A block larger than `MAX_BLOCK` (a dummy mobile number, "Kumar" born in 1980) is not
compared all-pairs: its members are sorted by name and each is compared with its next
`WINDOW` neighbours, so no block costs more than `WINDOW` comparisons per member and
the total grows linearly with the number of people: at most WINDOW comparisons per
person per block they are in (a phone, one per name token, one for the whole name).

Names are compared by rapidfuzz's token_sort_ratio on `latinise_name`, which gives the
same key for Devanagari and Latin spellings ("सुनीता शर्मा" / "Sunita Sharma").
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from django.db import transaction
from rapidfuzz import fuzz

from beneficiaries.identity import latinise_name
from beneficiaries.models import Beneficiary, DuplicateCandidate

WINDOW = 8
# Up to this size a block is compared all-pairs: (b - 1) / 2 ≤ WINDOW comparisons per member,
# the same bound as the window gives a larger block.
MAX_BLOCK = 2 * WINDOW + 1
NAME_FLOOR = 60  # below this name similarity a pair is never a candidate
NAME_SIMILAR = 80  # from here on the names count as a reason ("similar_name")
THRESHOLD = 70  # the score a pair needs to be flagged
SIMILAR_NAME, SAME_BIRTH_YEAR, SAME_PHONE = "similar_name", "same_birth_year", "same_phone"


@dataclass
class DetectionStats:
    """What one run did; `compared` is the number of pairs scored (the cost)."""

    people: int = 0
    blocks: int = 0
    compared: int = 0
    found: int = 0
    created: int = 0


@dataclass(frozen=True)
class Person:
    pk: int
    latin: str
    birth_year: int
    phone: str
    gender: str
    codes: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Match:
    score: int
    reasons: list[str]


# --- keys -----------------------------------------------------------------------------
_VOWELS = re.compile(r"[aeiouy]")


@lru_cache(maxsize=200_000)
def _latin(name: str) -> str:
    return latinise_name(name)


def token_code(token: str) -> str:
    """A phonetic code of one latinised name token: its first letter and the next three
    consonants ("sunita" → "snt", "suneeta" → "snt", "mahendra"/"mahendr" → "mhnd")."""
    return (token[:1] + _VOWELS.sub("", token[1:]))[:4]


def _person(pk: int, name: str, birth_year: int, phone: str, gender: str) -> Person:
    latin = _latin(name)
    codes = tuple(sorted({token_code(t) for t in latin.split() if len(t) > 1}))
    return Person(pk=pk, latin=latin, birth_year=birth_year, phone=phone, gender=gender, codes=codes)


def _name_blocks(people: list[Person]) -> dict[tuple, list[Person]]:
    blocks: dict[tuple, list[Person]] = defaultdict(list)
    for p in people:
        for code in p.codes:
            blocks[("token", code)].append(p)
        if p.codes:
            blocks[("name", " ".join(p.codes))].append(p)
    return blocks


# --- scoring --------------------------------------------------------------------------
def _token_ratio(short: str, long: str) -> float:
    if len(short) == 1:  # an initial: "S Sharma" for "Sunita Sharma"
        return 100.0 if long.startswith(short) else 0.0
    return fuzz.ratio(short, long)


def name_similarity(a: str, b: str) -> float:
    """0–100 for two latinised names.

    The whole names are compared in sorted token order (token_sort_ratio); a name that
    lacks a middle name of the other still counts as close (token_set_ratio, less 10).
    But every token of the shorter name must have a close counterpart in the other: the
    weakest one caps the result, so "Molal Bansal" and "Vilal Bansal" — one surname, two
    people — are not similar names.
    """
    ta, tb = a.split(), b.split()
    if not ta or not tb:
        return 0.0
    short, long = (ta, tb) if len(ta) <= len(tb) else (tb, ta)
    weakest = min(max(_token_ratio(t, u) for u in long) for t in short)
    score = fuzz.token_sort_ratio(a, b)
    if len(short) >= 2:
        score = max(score, fuzz.token_set_ratio(a, b) - 10)
    return min(score, weakest)


def match(a: Person, b: Person) -> Match | None:
    """Score a pair 0–100; None when it is not a probable duplicate.

    Name similarity weighs 60 %, the same birth year and the same mobile 20 points each;
    a different gender costs 15 (typing errors happen, but it is evidence against).
    """
    name = name_similarity(a.latin, b.latin)
    if name < NAME_FLOOR:
        return None
    same_year, same_phone = a.birth_year == b.birth_year, a.phone == b.phone
    score = 0.6 * name + 20 * same_year + 20 * same_phone - 15 * (a.gender != b.gender)
    if score < THRESHOLD:
        return None
    reasons = [SIMILAR_NAME] if name >= NAME_SIMILAR else []
    reasons += [SAME_BIRTH_YEAR] * same_year + [SAME_PHONE] * same_phone
    return Match(score=min(100, round(score)), reasons=reasons)


def _block_pairs(members: list[Person], targets: set[int] | None) -> Iterator[tuple[Person, Person]]:
    """The pairs of a block worth comparing: all of them for a small block, a sliding
    window over the members sorted by name for a large one. With `targets`, only pairs
    that involve one of them (an incremental scan after an upload)."""
    if len(members) <= MAX_BLOCK:
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if targets is None or a.pk in targets or b.pk in targets:
                    yield a, b
        return
    # Sorted by the name's tokens in order, so "Kumar Ramesh" sits next to "Ramesh Kumar".
    ordered = sorted(members, key=lambda p: (" ".join(sorted(p.latin.split())), p.pk))
    for i, a in enumerate(ordered):
        for b in ordered[i + 1 : i + 1 + WINDOW]:
            if targets is None or a.pk in targets or b.pk in targets:
                yield a, b


def _compare_blocks(
    blocks: Iterable[list[Person]], targets: set[int] | None, stats: DetectionStats, found: dict
) -> None:
    # `seen` is per call: calls are per birth year (and one for phones), so it stays small.
    seen: set[tuple[int, int]] = set()
    for members in blocks:
        if len(members) < 2:
            continue
        stats.blocks += 1
        for a, b in _block_pairs(members, targets):
            pair = (a.pk, b.pk) if a.pk < b.pk else (b.pk, a.pk)
            if pair in seen or pair in found:
                continue
            seen.add(pair)
            stats.compared += 1
            if (m := match(a, b)) is not None:
                found[pair] = m


# --- the scan -------------------------------------------------------------------------
def _load(district_id: int) -> list[Person]:
    rows = (
        Beneficiary.objects.live()
        .filter(district_id=district_id)
        .order_by()
        .values_list("pk", "name", "birth_year", "phone", "gender")
    )
    return [_person(*row) for row in rows.iterator(chunk_size=5000)]


def duplicates_find(
    *, people: list[Person], beneficiary_ids: Iterable[int] | None = None, stats: DetectionStats | None = None
) -> dict[tuple[int, int], Match]:
    """All probable duplicate pairs among `people` (pure: no database)."""
    stats = stats if stats is not None else DetectionStats()
    targets = set(beneficiary_ids) if beneficiary_ids is not None else None
    stats.people = len(people)
    found: dict[tuple[int, int], Match] = {}
    by_phone: dict[str, list[Person]] = defaultdict(list)
    by_year: dict[int, list[Person]] = defaultdict(list)
    for p in people:
        by_phone[p.phone].append(p)
        by_year[p.birth_year].append(p)
    _compare_blocks(by_phone.values(), targets, stats, found)
    for year_people in by_year.values():
        if targets is None or any(p.pk in targets for p in year_people):
            _compare_blocks(_name_blocks(year_people).values(), targets, stats, found)
    stats.found = len(found)
    return found


def duplicates_detect(
    *, district_id: int, beneficiary_ids: list[int] | None = None, stats: DetectionStats | None = None
) -> int:
    """Flag the district's probable duplicates for review; returns how many new pairs.

    Idempotent: a pair is flagged once (unique pair), whatever its status; a pair the
    officer already decided is never re-opened, and merged people are left out. With
    `beneficiary_ids` only pairs involving those people are looked at.
    """
    stats = stats if stats is not None else DetectionStats()
    found = duplicates_find(people=_load(district_id), beneficiary_ids=beneficiary_ids, stats=stats)
    known = set(DuplicateCandidate.objects.filter(district_id=district_id).values_list("first_id", "second_id"))
    new = [
        DuplicateCandidate(district_id=district_id, first_id=a, second_id=b, score=m.score, reasons=m.reasons)
        for (a, b), m in found.items()
        if (a, b) not in known
    ]
    with transaction.atomic():
        # ignore_conflicts: a scan running at the same time may have flagged the pair.
        DuplicateCandidate.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    stats.created = len(new)
    return len(new)
