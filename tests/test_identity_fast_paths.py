"""The identity module's fast paths answer exactly what the plain rules answer (SPEC §3):
mobiles as phonenumbers decides them, the Verhoeff digit as the textbook algorithm
computes it, the keyed hash as hmac.new, names and ID types as the general path."""

from __future__ import annotations

import hashlib
import hmac
import random
import unicodedata

import pytest

from beneficiaries import identity
from beneficiaries.identity import IdentityError, id_hash, normalise_id_type, normalise_name, normalise_phone


def _outcome(fn, *args):
    try:
        return fn(*args)
    except IdentityError as exc:
        return ("refused", exc.field, str(exc))


def _by_phonenumbers(raw):
    value = str(raw or "").strip()
    if not value:
        return normalise_phone(raw)  # the missing-number message comes first on both paths
    return identity._phone_by_phonenumbers(raw, value, "IN")


def _mobile_spellings(rng: random.Random) -> list[str]:
    values = []
    for first in "0123456789":
        for _ in range(1200):
            d = first + f"{rng.randrange(10**9):09d}"
            values += [
                d, "91" + d, "+91" + d, "0" + d, "091" + d, "0091" + d, f"+91 {d}", f"+91-{d[:5]}-{d[5:]}",
                f"{d[:5]} {d[5:]}", f"({d[:3]}) {d[3:6]}-{d[6:]}", f" 0{d} ", f"+91 0{d}", "91" + d[2:],
                d[:9], d + "7", d + ".0", d[:5] + "." + d[5:], "+92" + d, "+1" + d, "1" + d, d + "\u00a0",
                "".join(chr(0x0966 + int(c)) for c in d),  # Devanagari digits
                "\uff0b91" + d,  # a full-width plus
            ]  # fmt: skip
    return values


def test_mobiles_are_accepted_and_refused_exactly_as_phonenumbers_decides():
    assert identity._INDIAN_NUMBER_OK is not None, "the fast path is off: the installed metadata changed shape"
    values = _mobile_spellings(random.Random(11)) + ["", "  ", "abc", "+91", "0", "91"]
    fast = 0
    for value in values:
        assert _outcome(normalise_phone, value) == _outcome(_by_phonenumbers, value), value
        fast += identity._MOBILE_SHAPE.fullmatch(identity._PHONE_PUNCTUATION.sub("", value)) is not None
    assert fast > len(values) // 5  # the fast path was taken, not only the slow one


def test_every_ten_digit_prefix_block_of_indian_mobiles_is_decided_as_phonenumbers_decides():
    # Validity of ten digits starting 6-9 depends on their first digits: one number per
    # block of 10,000 covers every prefix of six digits.
    rng = random.Random(5)
    for block in range(6 * 10**5, 10**6, 7):
        digits = f"{block}{rng.randrange(10**4):04d}"
        assert _outcome(normalise_phone, digits) == _outcome(_by_phonenumbers, digits), digits


def _textbook_verhoeff(digits: str) -> int:
    check = 0
    for i, ch in enumerate(reversed(digits)):
        check = identity._D[check][identity._P[i % 8][int(ch)]]
    return check


def test_the_table_driven_verhoeff_is_the_textbook_one():
    rng = random.Random(3)
    for length in range(1, 20):
        for _ in range(300):
            digits = "".join(rng.choice("0123456789") for _ in range(length))
            assert identity._verhoeff(digits) == _textbook_verhoeff(digits), digits


def test_the_keyed_hash_is_hmac_sha256():
    for key, value in [("k1", "234567890124"), ("a longer secret ✓", "ABCDE1234F"), ("", "x")]:
        expected = hmac.new(key.encode(), f"aadhaar:{value}".encode(), hashlib.sha256).hexdigest()
        assert id_hash("aadhaar", value, key) == expected


def _general_name(raw) -> str:
    name = " ".join(unicodedata.normalize("NFC", str(raw or "")).split())
    if not any("\u0900" <= ch <= "\u097f" for ch in name):
        name = " ".join(part[:1].upper() + part[1:].lower() for part in name.split(" "))
    return name


@pytest.mark.parametrize(
    "raw",
    ["sunita  SHARMA", " ravi\tkumar ", "", None, "o'brien mc-donald", "a", "x\x1cy", "\u00e9lise dupont",
     "सुनीता शर्मा", "Ravi कुमार", "ǆemal", "ﬁona", "ß", "e\u0301mile"],
)  # fmt: skip
def test_names_are_tidied_as_the_general_path_does(raw):
    assert normalise_name(raw) == _general_name(raw)


def test_id_types_are_the_same_whether_remembered_or_not():
    spellings = ["Aadhaar", "aadhaar", " AADHAR  card", "voter_id", "Voter ID", "driving_licence", "DL", "पैन"]
    first = [normalise_id_type(s) for s in spellings]
    again = [normalise_id_type(s) for s in spellings]
    identity._TYPE_SEEN.clear()
    assert first == again == [normalise_id_type(s) for s in spellings]
    for bad in ["nonsense", "nonsense"]:  # a refusal is never remembered
        with pytest.raises(IdentityError):
            normalise_id_type(bad)


@pytest.mark.parametrize("raw", ["²34567890124", "2345678901²4", "234567890\u00b3124"])
def test_a_superscript_digit_in_an_aadhaar_is_refused_with_a_reason(raw):
    # "²".isdigit() is true but int() cannot read it: it must be a row's error, never a crash.
    with pytest.raises(IdentityError, match="digits only"):
        identity.identify("aadhaar", raw, "k1")
