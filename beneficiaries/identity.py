"""Identity: normalising and validating ID numbers, phones and names (SPEC §3).

Pure functions, no models. The full ID number exists only inside these functions: what
leaves is the keyed hash (uniqueness) and the last four characters (display). Error
messages never repeat a full number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from covax.reasons import reason

AADHAAR, PAN, EPIC, PASSPORT, DL, OTHER = "aadhaar", "pan", "epic", "passport", "driving_licence", "other"
_LABELS = {  # the labels' message ids, for messages shown later in another language
    AADHAAR: gettext_noop("Aadhaar"),
    PAN: gettext_noop("PAN card"),
    EPIC: gettext_noop("Voter ID (EPIC)"),
    PASSPORT: gettext_noop("Passport"),
    DL: gettext_noop("Driving licence"),
    OTHER: gettext_noop("Other photo ID"),
}
ID_TYPE_CHOICES = [
    (AADHAAR, _("Aadhaar")),
    (PAN, _("PAN card")),
    (EPIC, _("Voter ID (EPIC)")),
    (PASSPORT, _("Passport")),
    (DL, _("Driving licence")),
    (OTHER, _("Other photo ID")),
]
_ALIASES = {
    AADHAAR: ["aadhaar", "aadhar", "aadhaar card", "aadhar card", "uid", "uidai", "आधार", "आधार कार्ड"],
    PAN: ["pan", "pan card", "pancard", "पैन", "पैन कार्ड"],
    EPIC: ["epic", "voter id", "voter_id", "voterid", "voter id card", "voter card", "मतदाता पहचान पत्र", "वोटर आईडी"],
    PASSPORT: ["passport", "पासपोर्ट"],
    DL: ["driving_licence", "driving licence", "driving license", "dl", "ड्राइविंग लाइसेंस"],
    OTHER: ["other", "others", "अन्य"],
}
ID_TYPE_ALIASES = {alias: code for code, names in _ALIASES.items() for alias in names}


class IdentityError(ValueError):
    """A value that names no one. Its message is a covax.reasons.Reason, so that an
    upload's error report can show it later in its reader's language."""

    def __init__(self, message: str, *, field: str = "id_number"):
        super().__init__(message)
        self.message, self.field = message, field

    def __str__(self) -> str:
        return self.message  # the Reason itself, not a copy: str(exc) keeps what it remembers


@dataclass(frozen=True)
class Identity:
    id_type: str
    id_hash: str
    id_last4: str


# --- Verhoeff check digit (Aadhaar) -------------------------------------------------
_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]
_INV = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9]


def _pair_tables() -> list[bytes]:
    """Two Verhoeff steps in one look-up: _PAIRS[j % 4][c * 100 + v] is the check after
    the digits at reversed positions 2j and 2j + 1 (v = their two-digit value, read left
    to right), from the check c before them."""
    tables = []
    for j in range(4):
        right, left = _P[(2 * j) % 8], _P[(2 * j + 1) % 8]
        tables.append(bytes(_D[_D[c][right[v % 10]]][left[v // 10]] for c in range(10) for v in range(100)))
    return tables


_PAIRS = _pair_tables()


def _verhoeff(digits: str) -> int:
    check, rest = 0, int(digits)
    for j in range(len(digits) // 2):
        rest, pair = divmod(rest, 100)  # the two rightmost digits not yet read
        check = _PAIRS[j % 4][check * 100 + pair]
    if len(digits) % 2:  # an odd length: the first digit is left, at reversed position len - 1
        check = _D[check][_P[(len(digits) - 1) % 8][rest]]
    return check


def verhoeff_valid(digits: str) -> bool:
    # isdecimal, not isdigit: "²" is a digit that int() does not read.
    return digits.isdecimal() and _verhoeff(digits) == 0


def verhoeff_check_digit(digits: str) -> str:
    return str(_INV[_verhoeff(digits + "0")])


# --- ID numbers ---------------------------------------------------------------------
_MANGLED = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$|^\d+\.0+$")
_STRIP = re.compile(r"[\s\-\u00a0\u2007\u202f]+")
_PATTERNS = {
    PAN: (re.compile(r"^[A-Z]{5}[0-9]{4}[A-Z]$"), "AAAAA9999A"),
    EPIC: (re.compile(r"^[A-Z]{3}[0-9]{7}$"), "AAA9999999"),
    PASSPORT: (re.compile(r"^[A-Z][0-9]{7}$"), "A9999999"),
}
_FREE_FORM = re.compile(r"^[A-Z0-9/]{4,32}$")


# A list spells its ID types a handful of ways: each spelling is looked up once.
_TYPE_SEEN: dict[str, str] = {}


def normalise_id_type(raw: str) -> str:
    if (code := _TYPE_SEEN.get(raw)) if isinstance(raw, str) else None:
        return code
    key = " ".join(str(raw or "").replace("_", " ").split()).lower()
    code = ID_TYPE_ALIASES.get(key) or ID_TYPE_ALIASES.get(key.replace(" ", "_"))
    if code and isinstance(raw, str) and len(_TYPE_SEEN) < 1000:
        _TYPE_SEEN[raw] = code
    if not code:
        valid = ", ".join(code for code, _label in ID_TYPE_CHOICES)
        raise IdentityError(
            reason(
                gettext_noop("Unknown ID type “%(value)s”; use one of: %(valid)s."), value=str(raw)[:30], valid=valid
            ),
            field="id_type",
        )
    return code


def _masked(value: str) -> str:
    return "…" + value[-4:] if len(value) > 4 else value


def ascii_digits(text: str) -> str:
    """Decimal digits of any script as ASCII ("१२३४" from a Hindi keyboard or spreadsheet
    is "1234"): one number, one identity key, whichever digits it was typed in."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def normalise_id_number(id_type: str, raw: str) -> str:
    value = str(raw or "").strip()
    if not value:
        raise IdentityError(reason(gettext_noop("ID number is missing.")))
    if not value.isascii():
        value = ascii_digits(value)
    if id_type == AADHAAR:
        return _aadhaar(value)
    compact = _STRIP.sub("", value).upper()
    if id_type in _PATTERNS:
        pattern, shape = _PATTERNS[id_type]
        if not pattern.match(compact):
            label = reason(_LABELS[id_type])
            raise IdentityError(
                reason(gettext_noop("%(label)s number must look like %(shape)s."), label=label, shape=shape)
            )
        return compact
    compact = compact.replace("-", "")
    if not _FREE_FORM.match(compact):
        raise IdentityError(reason(gettext_noop("ID number must be 4 to 32 letters, digits or “/”.")))
    return compact


def _aadhaar(value: str) -> str:
    if len(value) == 12 and value.isascii() and value.isdigit():
        digits = value  # the usual cell: nothing to strip, nothing a spreadsheet changed
    else:
        digits = _aadhaar_digits(value)
    if digits[0] in "01":
        raise IdentityError(reason(gettext_noop("Aadhaar cannot start with 0 or 1.")))
    if not verhoeff_valid(digits):
        raise IdentityError(
            reason(
                gettext_noop("Aadhaar check digit is wrong (number ending %(last4)s) — please re-check the number."),
                last4=_masked(digits),
            )
        )
    return digits


def _aadhaar_digits(value: str) -> str:
    if _MANGLED.match(value.replace(",", "")):
        raise IdentityError(
            reason(
                gettext_noop(
                    "This looks like a number a spreadsheet changed (%(value)s). "
                    "Format the ID column as text and export again."
                ),
                value=value if "e" in value.lower() else "….0",
            )
        )
    digits = _STRIP.sub("", value)
    if not digits.isdecimal():
        raise IdentityError(reason(gettext_noop("Aadhaar must contain digits only.")))
    if len(digits) != 12:
        raise IdentityError(reason(gettext_noop("Aadhaar must have 12 digits, got %(n)s."), n=len(digits)))
    return digits


# HMAC-SHA256 keyed once per secret: copying a keyed state is cheaper than keying anew.
_KEYED: dict[str, hmac.HMAC] = {}


def id_hash(id_type: str, normalised: str, key: str | None = None) -> str:
    if key is None:
        key = settings.COVAX_ID_HASH_KEY
    keyed = _KEYED.get(key)
    if keyed is None:
        if len(_KEYED) > 8:  # a test that tries many keys
            _KEYED.clear()
        keyed = _KEYED[key] = hmac.new(key.encode(), digestmod=hashlib.sha256)
    mac = keyed.copy()
    mac.update(f"{id_type}:{normalised}".encode())
    return mac.hexdigest()


def id_last4(normalised: str) -> str:
    return normalised[-4:]


def identify(id_type_raw: str, id_number_raw: str, key: str | None = None) -> Identity:
    id_type = normalise_id_type(id_type_raw)
    number = normalise_id_number(id_type, id_number_raw)
    return Identity(id_type=id_type, id_hash=id_hash(id_type, number, key), id_last4=id_last4(number))


# --- phones and names ---------------------------------------------------------------
_DECIMAL_ZERO = re.compile(r"\d+\.0+")
_PHONE_PUNCTUATION = re.compile(r"[\s\-().]")
_ZERO_BEFORE_91 = re.compile(r"^0(?=91\d{10}$)")
_91_AND_TEN = re.compile(r"91\d{10}")
# The shapes most mobiles in a list have, once spaces, hyphens and brackets are gone:
# ten digits starting 6-9, bare or after +91, 91, 0 or 091.
_MOBILE_SHAPE = re.compile(r"(?:\+?91|0|091)?([6-9][0-9]{9})")


def _indian_number_check():
    """A function telling, for ten ASCII digits starting 6-9, whether phonenumbers
    finds +91 and those digits valid: its own rule (is_valid_number: the number fits
    the general pattern of India's metadata and the pattern of some type of number,
    each pattern only if it allows ten digits), with the patterns compiled once. For
    such a value phonenumbers.parse(value, "IN") always gives country code 91 and the
    ten digits as national number, after +91, 91, 0 or 091 as well: none of those
    digits is a national prefix to strip, and ten digits starting 6-9 fit India's
    general pattern, so a leading "91" of them is never taken for the country code.
    None (no fast path) if the installed metadata is not shaped as expected.
    tests/test_identity_fast_paths.py checks the fast path against phonenumbers."""
    try:
        from phonenumbers.phonemetadata import PhoneMetadata
        from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

        meta = PhoneMetadata.metadata_for_region("IN")
        if tuple(COUNTRY_CODE_TO_REGION_CODE.get(91, ())) != ("IN",) or meta.national_prefix_for_parsing != "0":
            return None

        def pattern(desc) -> str | None:  # phonenumbers' _is_number_matching_desc for 10 digits
            if desc is None or not desc.national_number_pattern:
                return None
            if desc.possible_length and 10 not in desc.possible_length:
                return None
            return desc.national_number_pattern

        general = pattern(meta.general_desc)
        if general is None or not re.fullmatch(general, "6000000000") or not re.fullmatch(general, "9999999999"):
            return None
        kinds = [meta.premium_rate, meta.toll_free, meta.shared_cost, meta.voip, meta.personal_number, meta.pager,
                 meta.uan, meta.voicemail, meta.fixed_line]  # fmt: skip
        if not meta.same_mobile_and_fixed_line_pattern:
            kinds.append(meta.mobile)
        some_kind = "|".join(f"(?:{p})" for p in map(pattern, kinds) if p)
        if not some_kind:
            return None
        general_re, kind_re = re.compile(general), re.compile(some_kind)
    except Exception:  # noqa: BLE001 - any surprise: no fast path, phonenumbers decides
        return None
    return lambda digits: general_re.fullmatch(digits) is not None and kind_re.fullmatch(digits) is not None


_INDIAN_NUMBER_OK = _indian_number_check()


def normalise_phone(raw: str, region: str = "IN") -> str:
    value = str(raw or "").strip()
    if not value:
        raise IdentityError(reason(gettext_noop("Mobile number is missing.")), field="phone")
    if region == "IN" and _INDIAN_NUMBER_OK is not None and "." not in value:
        shape = _MOBILE_SHAPE.fullmatch(_PHONE_PUNCTUATION.sub("", value))
        if shape and _INDIAN_NUMBER_OK(shape[1]):
            return "+91" + shape[1]
    return _phone_by_phonenumbers(raw, value, region)


def _phone_by_phonenumbers(raw, value: str, region: str) -> str:
    if _DECIMAL_ZERO.fullmatch(value):
        value = value.split(".")[0]
    value = _ZERO_BEFORE_91.sub("+", _PHONE_PUNCTUATION.sub("", value))
    if _91_AND_TEN.fullmatch(value):
        value = "+" + value
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise IdentityError(
            reason(gettext_noop("Mobile number %(value)s is not valid."), value=str(raw)[:20]), field="phone"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _has_devanagari(text: str) -> bool:
    return any("\u0900" <= ch <= "\u097f" for ch in text)


def normalise_name(raw: str) -> str:
    text = str(raw or "")
    if text.isascii():  # NFC changes nothing, no Devanagari, capitalize() is upper + lower
        return " ".join(map(str.capitalize, text.split()))
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not _has_devanagari(name):
        name = " ".join(part[:1].upper() + part[1:].lower() for part in name.split(" "))
    return name


_SOUNDS = [
    (r"aa+", "a"),
    (r"ee+|ii+", "i"),
    (r"oo+|uu+", "u"),
    (r"w", "v"),
    (r"ph", "f"),
    (r"z", "j"),
    (r"(?<=[bcdfghjklmnpqrstvxyz])h", ""),
    (r"y(?=\b)", "i"),
    (r"ng\b", "n"),
    (r"(.)\1+", r"\1"),
]


_IAST_VOWELS = "aāiīuūṛṝeoṃḥ"
_ASPIRATES = re.compile(r"(?<=[kgcjṭḍtdpb])h")


def _drop_final_schwa(iast: str) -> str:
    """Hindi drops the inherent vowel at the end of a word ("कुमार", kumāra in Sanskrit
    transliteration, is "kumar"; "अरविन्द" is "Arvind") but keeps it after a cluster
    ending in r, y, v, m or n ("महेन्द्र" "Mahendra", "कृष्ण" "Krishna", "पद्म" "Padma"),
    as people write these names."""

    def word(w: str) -> str:
        if len(w) < 2 or w[-1] != "a" or w[-2] in _IAST_VOWELS:
            return w
        consonants = re.search(rf"[^{_IAST_VOWELS}]+$", _ASPIRATES.sub("", w[:-1]))
        cluster = consonants.group() if consonants else ""
        return w if len(cluster) >= 2 and cluster[-1] in "ryvmnṇ" else w[:-1]

    return " ".join(word(w) for w in iast.split())


def latinise_name(name: str) -> str:
    """A lower-case Latin key of a name, the same for its Devanagari and Latin spellings
    ("सुनीता शर्मा" and "Sunita Sharma" both give "sunita sarma")."""
    text = unicodedata.normalize("NFC", str(name or ""))
    if _has_devanagari(text):
        from indic_transliteration import sanscript

        text = sanscript.transliterate(text, sanscript.DEVANAGARI, sanscript.IAST)
        text = _drop_final_schwa(text)
    # ऋ is "ṛ" in IAST and "ri" in names people type ("कृष्ण", "Krishna"); "x" is how
    # Latin spellings write क्ष ("Laxmi" for "लक्ष्मी").
    text = text.lower().replace("ṛ", "ri").replace("x", "ks")
    text = re.sub("ṃ(?=[pbm])", "m", text)  # "अंबिका" is "Ambika"
    text = text.replace("ṃ", "n").replace("ṅ", "n").replace("ñ", "n")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^a-z ]", "", text)
    for pattern, repl in _SOUNDS:
        text = re.sub(pattern, repl, text)
    return " ".join(text.split())
