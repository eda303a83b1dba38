"""Headers and rows of an upload: which column is which (English or Hindi headers, any
case), and each row validated and normalised through the identity module.

A bad row becomes a list of (column, reason) and never stops the good ones; the
reasons never repeat an ID number (SPEC §3 privacy).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext_noop

from beneficiaries.identity import IdentityError, ascii_digits, identify, normalise_name, normalise_phone
from beneficiaries.models import Category, UploadKind
from beneficiaries.uploads.readers import Unreadable
from covax.reasons import reason

REQUIRED = {
    UploadKind.BENEFICIARIES: ["name", "gender", "birth_year", "phone", "id_type", "id_number", "category"],
    UploadKind.VACCINATIONS: ["dose", "vaccine", "administered_on", "centre_id", "lot_number"],
}
OPTIONAL = {UploadKind.BENEFICIARIES: ["employer", "centre_id"], UploadKind.VACCINATIONS: ["vaccinator"]}
# A dose names its person by reference id (what a centre's paper session list shows) or by
# photo ID: a vaccinations header needs one of these column sets complete, and may have both.
PERSON = {UploadKind.BENEFICIARIES: (), UploadKind.VACCINATIONS: (("reference_id",), ("id_type", "id_number"))}

ALIASES = {
    "name": ["full name", "beneficiary name", "नाम", "पूरा नाम"],
    "gender": ["sex", "लिंग"],
    "birth_year": ["year of birth", "yob", "जन्म वर्ष", "जन्म का वर्ष"],
    "phone": ["mobile", "mobile number", "phone number", "मोबाइल", "मोबाइल नंबर", "फ़ोन", "फोन"],
    "id_type": ["photo id type", "id type", "पहचान पत्र", "पहचान पत्र का प्रकार", "पहचान प्रकार"],
    "id_number": ["photo id number", "id number", "id no", "पहचान संख्या", "पहचान पत्र संख्या"],
    "reference_id": [
        "reference id",
        "ref id",
        "beneficiary reference id",
        "beneficiary id",
        "संदर्भ आईडी",
        "संदर्भ संख्या",
    ],
    "category": ["श्रेणी", "वर्ग"],
    "employer": ["organisation", "organization", "नियोक्ता", "संस्था"],
    "centre_id": ["center id", "centre", "center", "केंद्र", "केंद्र आईडी"],
    "dose": ["dose number", "खुराक"],
    "vaccine": ["vaccine name", "टीका"],
    "administered_on": ["date", "vaccination date", "date of vaccination", "टीकाकरण तिथि", "तिथि"],
    "lot_number": ["lot", "batch", "batch number", "लॉट नंबर", "बैच"],
    "vaccinator": ["vaccinator name", "टीकाकर्मी"],
}
MAX_CELL = 500
FORMULA = re.compile(r"^[=+\-@\t\r]")
GENDERS = {
    "m": "M", "male": "M", "पुरुष": "M", "f": "F", "female": "F", "महिला": "F", "स्त्री": "F",
    "o": "O", "other": "O", "t": "O", "transgender": "O", "अन्य": "O",
}  # fmt: skip
CATEGORIES = {c.lower(): c for c in Category.values} | {
    "health care worker": "HCW", "healthcare worker": "HCW", "स्वास्थ्य कर्मी": "HCW",
    "front line worker": "FLW", "frontline worker": "FLW", "अग्रिम पंक्ति कर्मी": "FLW",
}  # fmt: skip
DATE_FORMATS = ["%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y"]
REFERENCE_SEPARATORS = re.compile(r"[\s\-\u00a0\u2007\u202f]+")
SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$")


def _key(header: str) -> str:
    return re.sub(r"[\s_\-.]+", " ", header.strip().lstrip("\ufeff").casefold()).strip()


_LOOKUP = {_key(alias): column for column, aliases in ALIASES.items() for alias in [column, *aliases]}


@dataclass(frozen=True)
class Header:
    positions: dict[str, int]
    ignored: list[str]

    @functools.cached_property
    def width(self) -> int:
        """Cells a row needs to reach every known column (shorter rows are padded)."""
        return max(self.positions.values()) + 1

    @functools.cached_property
    def pick(self) -> tuple[tuple[str, ...], Callable[[list[str]], tuple[str, ...]]]:
        """The known columns, and a function taking their cells out of a row at once."""
        columns, indexes = tuple(self.positions), tuple(self.positions.values())
        if len(indexes) == 1:
            return columns, lambda row: (row[indexes[0]],)
        return columns, operator.itemgetter(*indexes)


def _columns(kind: str) -> list[str]:
    """The columns a kind knows, in the order the header help lists them."""
    return [c for columns in PERSON[kind] for c in columns] + REQUIRED[kind] + OPTIONAL[kind]


def _person_missing(kind: str, positions: dict[str, int]) -> list[str]:
    """What the header lacks to name a person, if no way of naming one is complete."""
    ways = PERSON[kind]
    if not ways or any(all(c in positions for c in way) for way in ways):
        return []
    return [reason(gettext_noop("%(first)s (or %(second)s)"), first=ways[0][0], second=" + ".join(ways[1]))]


def read_header(cells: list[str], kind: str) -> Header:
    """Map columns to their meaning, or refuse the file with what is wrong with it."""
    positions: dict[str, int] = {}
    ignored = []
    known = _columns(kind)
    for index, cell in enumerate(cells):
        column = _LOOKUP.get(_key(cell))
        if column is None or column not in known:
            if cell.strip():
                ignored.append(cell.strip()[:40])
            continue
        if column in positions:
            raise Unreadable(
                reason(gettext_noop('The column "%(column)s" appears twice in the header.'), column=column)
            )
        positions[column] = index
    missing = _person_missing(kind, positions) + [c for c in REQUIRED[kind] if c not in positions]
    other = UploadKind.VACCINATIONS if kind == UploadKind.BENEFICIARIES else UploadKind.BENEFICIARIES
    if missing and {_LOOKUP.get(_key(c)) for c in cells} >= set(REQUIRED[other]) - {"id_type", "id_number"}:
        raise Unreadable(
            reason(
                gettext_noop(
                    "These columns are for a %(other)s upload, not %(kind)s. Choose the right kind and upload again."
                ),
                other=other,
                kind=kind,
            )
        )
    if missing:
        raise Unreadable(
            reason(
                gettext_noop("Missing column(s): %(missing)s. The first row must be the header: %(expected)s."),
                missing=", ".join(missing),
                expected=", ".join(known),
            )
        )
    return Header(positions, ignored)


class RowError(Exception):
    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__(problems)
        self.problems = problems


def _cells(row: list[str], header: Header) -> dict[str, str]:
    if len(row) < header.width:
        row = row + [""] * (header.width - len(row))
    columns, pick = header.pick
    values = dict(zip(columns, map(str.strip, pick(row)), strict=True))
    if max(map(len, values.values())) > MAX_CELL:
        message = gettext_noop("The cell is %(n)s characters long; at most %(max)s are allowed.")
        raise RowError([(c, reason(message, n=len(v), max=MAX_CELL)) for c, v in values.items() if len(v) > MAX_CELL])
    return values


def _formula_free(values: dict[str, str], columns: list[str], problems: list) -> None:
    for column in columns:
        if FORMULA.match(values.get(column, "")):
            problems.append(
                (column, reason(gettext_noop("The cell looks like a spreadsheet formula; it is not accepted.")))
            )


def _int(value: str) -> int:
    return int(value[:-2] if value.endswith(".0") else value)


def parse_person(
    row: list[str], header: Header, centre_ids: set[int], *, this_year: int | None = None, id_key: str | None = None
) -> dict:
    """A valid person as the columns of the beneficiary table, or RowError. (A caller
    parsing many rows passes `this_year` and the identity-hash secret `id_key` once
    instead of asking the clock and the settings per row.)"""
    values, problems = _cells(row, header), []
    _formula_free(values, ["name", "employer"], problems)
    person: dict = {"employer": values.get("employer", "")}
    person["name"] = normalise_name(values["name"])
    if not person["name"]:
        problems.append(("name", reason(gettext_noop("Name is missing."))))
    person["gender"] = GENDERS.get(values["gender"].casefold())
    if person["gender"] is None:
        problems.append(("gender", reason(gettext_noop("Gender must be M, F or O."))))
    this_year = this_year or timezone.localdate().year
    try:
        person["birth_year"] = _int(values["birth_year"])
        if not this_year - 120 <= person["birth_year"] <= this_year:
            raise ValueError
    except ValueError:
        problems.append(("birth_year", reason(gettext_noop("Birth year must be a year such as 1980."))))
    person["category"] = CATEGORIES.get(values["category"].casefold())
    if person["category"] is None:
        problems.append(
            ("category", reason(gettext_noop("Category must be one of %(v)s."), v=", ".join(Category.values)))
        )
    try:
        person["phone"] = normalise_phone(values["phone"])
    except IdentityError as exc:
        problems.append(("phone", str(exc)))
    try:
        identity = identify(values["id_type"], values["id_number"], id_key)
        person.update(id_type=identity.id_type, id_hash=identity.id_hash, id_last4=identity.id_last4)
    except IdentityError as exc:
        problems.append((exc.field or "id_number", str(exc)))
    person["centre_id"] = _centre(values.get("centre_id", ""), centre_ids, problems, required=False)
    if problems:
        raise RowError(problems)
    return person


def _centre(value: str, centre_ids: set[int], problems: list, *, required: bool) -> int | None:
    if not value:
        if required:
            problems.append(("centre_id", reason(gettext_noop("Centre id is missing."))))
        return None
    try:
        centre_id = _int(value)
    except ValueError:
        centre_id = None
    if centre_id not in centre_ids:
        problems.append(("centre_id", reason(gettext_noop("No centre with id %(v)s in this district."), v=value[:12])))
        return None
    return centre_id


def parse_dose(row: list[str], header: Header, centre_ids: set[int], vaccines: dict) -> dict:
    """A back-filled dose: the person's reference id and/or identity key, dose, vaccine,
    date, centre, lot; or RowError. Whom they name is looked up by the caller."""
    values, problems = _cells(row, header), []
    _formula_free(values, ["lot_number", "vaccinator"], problems)
    dose: dict = {"lot_number": values["lot_number"], "vaccinator": values.get("vaccinator", "")}
    dose.update(_person_named(values, problems))
    try:
        dose["dose"] = _int(values["dose"])
        if not 1 <= dose["dose"] <= 10:
            raise ValueError
    except ValueError:
        problems.append(("dose", reason(gettext_noop("Dose must be a number such as 1 or 2."))))
    dose["vaccine"] = vaccines.get(values["vaccine"].strip().upper())
    if dose["vaccine"] is None:
        problems.append(
            ("vaccine", reason(gettext_noop("Unknown vaccine; use one of %(v)s."), v=", ".join(sorted(vaccines))))
        )
    dose["day"] = _date(values["administered_on"], problems)
    dose["centre_id"] = _centre(values["centre_id"], centre_ids, problems, required=True)
    if len(dose["lot_number"]) > 50:
        problems.append(("lot_number", reason(gettext_noop("The lot number is longer than 50 characters."))))
    if problems:
        raise RowError(problems)
    return dose


def _person_named(values: dict[str, str], problems: list) -> dict:
    """reference_id, id_type and id_hash, each None unless the row gives it. A file with
    both column sets may fill either; one with only the ID columns keeps their errors."""
    by_id = "id_type" in values and "id_number" in values
    has_ref = "reference_id" in values
    named: dict = {"reference_id": None, "id_type": None, "id_hash": None}
    if has_ref and (values["reference_id"] or not by_id):
        named["reference_id"] = _reference_id(values["reference_id"], problems)
    if by_id and (values["id_type"] or values["id_number"] or not has_ref):
        try:
            identity = identify(values["id_type"], values["id_number"])
            named.update(id_type=identity.id_type, id_hash=identity.id_hash)
        except IdentityError as exc:
            problems.append((exc.field or "id_number", str(exc)))
    elif has_ref and by_id and not values["reference_id"]:
        problems.append(
            ("reference_id", reason(gettext_noop("Give the person's reference id, or their ID type and ID number.")))
        )
    return named


def _reference_id(value: str, problems: list) -> str | None:
    """14 ASCII digits from what a person typed or a spreadsheet kept: digits of any
    script, spaces and hyphens between them, an exact trailing ".0"."""
    if not value:
        problems.append(("reference_id", reason(gettext_noop("Reference id is missing."))))
        return None
    if SCIENTIFIC.match(value):
        message = gettext_noop(
            "This looks like a number a spreadsheet changed (%(value)s). "
            "Format the reference_id column as text and export again."
        )
        problems.append(("reference_id", reason(message, value=value[:16])))
        return None
    digits = REFERENCE_SEPARATORS.sub("", ascii_digits(value)).removesuffix(".0")
    if not (digits.isascii() and digits.isdigit()):
        problems.append(("reference_id", reason(gettext_noop("A reference id has 14 digits and nothing else."))))
        return None
    if len(digits) != 14:
        problems.append(
            ("reference_id", reason(gettext_noop("A reference id has 14 digits; this one has %(n)s."), n=len(digits)))
        )
        return None
    return digits


def _date(value: str, problems: list) -> dt.date | None:
    for fmt in DATE_FORMATS:
        try:
            day = dt.datetime.strptime(value[:10], fmt).date()
        except ValueError:
            continue
        if day > timezone.localdate():
            problems.append(("administered_on", reason(gettext_noop("The date is in the future."))))
            return None
        return day
    problems.append(("administered_on", reason(gettext_noop("The date must look like 2021-01-16 or 16-01-2021."))))
    return None
