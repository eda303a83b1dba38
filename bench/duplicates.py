"""Benchmark: probable-duplicate detection for one district of synthetic people.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/covax_dup .venv/bin/python bench/duplicates.py --people 100000

Creates a scratch district ("Bench …") with `--people` synthetic people (names built from
Hindi syllables, written in Latin or Devanagari, birth years 1940–2003, some families
sharing a mobile) plus `--planted` duplicates of some of them under another ID (a
Devanagari spelling, a Latin spelling variant, a dropped middle name, reordered names;
mostly the same birth year, sometimes the same mobile instead). Then it times
`duplicates_detect` on the database, prints the comparisons it made against all pairs,
how many planted duplicates it found, the cost per person at several sizes (it should
stay flat: linear growth), and an incremental scan of newly added people. The scratch
district is removed at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "covax.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret")
os.environ.setdefault("COVAX_ID_HASH_KEY", "bench-only-id-hash-key")
os.environ.setdefault("DJANGO_HTTPS", "0")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from indic_transliteration import sanscript  # noqa: E402

from beneficiaries import duplicates as dup  # noqa: E402
from beneficiaries.models import Beneficiary, DuplicateCandidate  # noqa: E402
from sessions_app.models import District, State  # noqa: E402

# Harvard-Kyoto spellings: one source for both the Devanagari and the Latin form.
# (z is श, c is च, M the anusvara, capitals long vowels and retroflexes.)
PREFIXES = "ra su a pri ka ma vi de sa ja na ha go mo zi pu ru ne gi ba".split()
SUFFIXES = "mez nItA nil yA malA noj jay vendra njay zA rendra rI vind ndA pAl kez jIt man dIp lAl".split()
MIDDLES = ["", "", "", "kumAr", "devI", "lAl", "prakAz", "rAnI", "siMh", "cand"]
SURNAMES = (
    "kumAr devI siMh zarmA yAdav varmA guptA jain rAnI caudharI malik sainI goyal baMsal mittal garg ahlAvat "
    "dahiyA sAMgvAn punIyA benIvAl jAkhaD hUDA rAThI nehrA godArA kuNDu lAThar rAnA taMvar cauhAn zyoraN "
    "biznoI sihAg dhankhaD phogaT mor dalAl redu"
).split()


def devanagari(hk_words: list[str]) -> str:
    # A final consonant carries the inherent vowel in Devanagari ("kumAr" → कुमार).
    words = [w + "a" if w[-1] not in "aAiIuUeo" else w for w in hk_words]
    return " ".join(sanscript.transliterate(w, sanscript.HK, sanscript.DEVANAGARI) for w in words)


def latin(hk_words: list[str], rng: random.Random, variant: bool = False) -> str:
    out = []
    for w in hk_words:
        s = w
        if variant:
            s = s.replace("I", rng.choice(["i", "ee"])).replace("A", rng.choice(["a", "aa"]))
            s = s.replace("z", rng.choice(["sh", "s"])).replace("v", rng.choice(["v", "w"]))
        s = s.replace("z", "sh").replace("S", "sh").replace("c", "ch")
        s = s.replace("M", "n").replace("D", "d").replace("T", "t").replace("N", "n")
        s = s.replace("I", "i").replace("A", "a").replace("U", "u")
        out.append(s.capitalize())
    return " ".join(out)


def make_name(rng: random.Random) -> list[str]:
    words = [rng.choice(PREFIXES) + rng.choice(SUFFIXES)]
    if middle := rng.choice(MIDDLES):
        words.append(middle)
    words.append(rng.choice(SURNAMES))
    return words


class Generator:
    def __init__(self, district: District, seed: int):
        self.rng = random.Random(seed)
        self.district = district
        self.serial = 0

    def person(self, hk: list[str], *, year: int, phone: str, gender: str, script: str = "latin") -> Beneficiary:
        self.serial += 1
        name = devanagari(hk) if script == "devanagari" else latin(hk, self.rng)
        return Beneficiary(
            reference_id=f"{90_000_000_000_000 + self.district.pk * 1_000_000 + self.serial:014d}",
            name=name,
            gender=gender,
            birth_year=year,
            phone=phone,
            id_type="other",
            id_hash=f"bench-{self.district.pk}-{self.serial}",
            id_last4=f"{self.serial % 10000:04d}",
            category="18+",
            district=self.district,
        )

    def people(self, n: int) -> tuple[list[Beneficiary], list[list[str]]]:
        rng, out, names = self.rng, [], []
        phone = None
        for _ in range(n):
            hk = make_name(rng)
            if phone is None or rng.random() > 0.15:  # 15 % share a family mobile
                phone = f"+919{rng.randrange(10**9):09d}"
            script = "devanagari" if rng.random() < 0.3 else "latin"
            out.append(
                self.person(hk, year=rng.randint(1940, 2003), phone=phone, gender=rng.choice("MF"), script=script)
            )
            names.append(hk)
        return out, names

    def duplicate_of(self, original: Beneficiary, hk: list[str]) -> Beneficiary:
        rng = self.rng
        words = list(hk)
        if len(words) == 3 and rng.random() < 0.2:
            words.pop(1)  # dropped middle name
        if rng.random() < 0.15:
            words = words[-1:] + words[:-1]  # surname first
        same_phone = rng.random() < 0.3
        year = original.birth_year if (not same_phone or rng.random() < 0.5) else original.birth_year + 1
        phone = original.phone if same_phone else f"+918{rng.randrange(10**9):09d}"
        copy = self.person(words, year=year, phone=phone, gender=original.gender)
        if rng.random() < 0.4:
            copy.name = devanagari(words)
        else:
            copy.name = latin(words, rng, variant=True)
        return copy


def insert(people: list[Beneficiary]) -> None:
    Beneficiary.objects.bulk_create(people, batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--planted", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=2021)
    parser.add_argument("--keep", action="store_true", help="keep the scratch district")
    args = parser.parse_args()
    print(f"database: {connection.vendor} {settings.DATABASES['default']['NAME']}")
    if not settings.IS_POSTGRES:
        print("note: SPEC figures are for PostgreSQL; set DATABASE_URL=postgres://…")

    state, _ = State.objects.get_or_create(code="BN", defaults={"name": "Bench", "name_hi": "बेंच"})
    district = District.objects.create(state=state, name=f"Bench {time.time_ns()}", name_hi="बेंच")
    try:
        run(district, args)
    finally:
        if not args.keep:
            DuplicateCandidate.objects.filter(district=district).delete()
            Beneficiary.objects.filter(district=district).delete()
            district.delete()


def run(district: District, args) -> None:
    gen = Generator(district, args.seed)
    t = time.perf_counter()
    people, names = gen.people(args.people)
    insert(people)
    index = gen.rng.sample(range(len(people)), args.planted)
    planted = [gen.duplicate_of(people[i], names[i]) for i in index]
    insert(planted)
    originals = [people[i] for i in index]
    total = len(people) + len(planted)
    print(f"created {total:,} people ({args.planted:,} planted duplicates) in {time.perf_counter() - t:.1f} s")

    stats = dup.DetectionStats()
    dup._latin.cache_clear()
    t = time.perf_counter()
    created = dup.duplicates_detect(district_id=district.pk, stats=stats)
    seconds = time.perf_counter() - t
    all_pairs = total * (total - 1) // 2
    pairs = set(DuplicateCandidate.objects.filter(district=district).values_list("first_id", "second_id"))
    found = sum((min(a.pk, b.pk), max(a.pk, b.pk)) in pairs for a, b in zip(originals, planted, strict=True))
    print(f"full scan of {total:,} people: {seconds:.1f} s")
    print(f"  blocks {stats.blocks:,}, comparisons {stats.compared:,} ({stats.compared / total:.1f} per person)")
    print(f"  all pairs would be {all_pairs:,} ({all_pairs / max(stats.compared, 1):,.0f}× more)")
    print(f"  flagged {created:,} pairs; planted duplicates found {found}/{args.planted} ({found / args.planted:.1%})")
    print(f"  other flagged pairs (same or similar name and birth year by chance): {created - found:,}")

    # Scaling: the same people in growing prefixes, scored without the database.
    everyone = dup._load(district.pk)
    for size in (total // 4, total // 2, total):
        s = dup.DetectionStats()
        t = time.perf_counter()
        dup.duplicates_find(people=everyone[:size], stats=s)
        per = time.perf_counter() - t
        print(f"  in memory, {size:>7,} people: {per:5.1f} s, {s.compared / size:.1f} comparisons per person")

    # Incremental: 1,000 newly uploaded people, only their pairs.
    more, _names = gen.people(1_000)
    insert(more)
    s = dup.DetectionStats()
    t = time.perf_counter()
    dup.duplicates_detect(district_id=district.pk, beneficiary_ids=[p.pk for p in more], stats=s)
    print(f"incremental scan of 1,000 new people: {time.perf_counter() - t:.1f} s, {s.compared:,} comparisons")


if __name__ == "__main__":
    main()
