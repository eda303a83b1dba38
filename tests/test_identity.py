"""The identity table: valid, invalid and spreadsheet-mangled ID numbers, phones, names."""

from __future__ import annotations

import re

import pytest
from rapidfuzz import fuzz

from beneficiaries.identity import (
    IdentityError,
    id_hash,
    identify,
    latinise_name,
    normalise_id_number,
    normalise_id_type,
    normalise_name,
    normalise_phone,
    verhoeff_check_digit,
    verhoeff_valid,
)

KEY = "k1"
VALID = "234567890124"  # body 23456789012 + Verhoeff check digit


def test_it_computes_the_verhoeff_check_digit():
    assert verhoeff_check_digit("23456789012") == VALID[-1]
    assert verhoeff_valid(VALID)
    # Every single-digit change of a valid number is caught.
    for i in range(12):
        for d in "0123456789":
            if d != VALID[i]:
                assert not verhoeff_valid(VALID[:i] + d + VALID[i + 1 :])


DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize(
    "raw",
    [
        VALID,
        "2345 6789 0124",
        "2345-6789-0124",
        " 2345\u00a067890124 ",
        VALID.translate(DEVANAGARI),  # typed on a Hindi keyboard: the same person, the same key
        "२३४५ ६७८९ 0124",
    ],
)
def test_it_accepts_aadhaar_in_its_written_forms(raw):
    assert normalise_id_number("aadhaar", raw) == VALID
    assert identify("Aadhaar", raw, key=KEY) == identify("aadhaar", VALID, key=KEY)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("2.34568E+11", "spreadsheet"),
        ("2.34568e11", "spreadsheet"),
        ("234567890124.0", "spreadsheet"),
        ("23456789012", "12 digits, got 11"),
        ("2345678901245", "12 digits, got 13"),
        ("134567890124", "cannot start with 0 or 1"),
        ("034567890124", "cannot start with 0 or 1"),
        ("234567890125", "check digit"),
        ("2345678901AB", "digits only"),
        ("", "missing"),
    ],
)
def test_it_refuses_bad_aadhaar_with_a_reason(raw, message):
    with pytest.raises(IdentityError) as err:
        normalise_id_number("aadhaar", raw)
    assert message in str(err.value)
    assert err.value.field == "id_number"
    assert not re.search(r"\d{12}", str(err.value)), "a full number must never appear in a message"


@pytest.mark.parametrize(
    "id_type, raw, normalised",
    [
        ("pan", " abcde1234f ", "ABCDE1234F"),
        ("epic", "abc 1234567", "ABC1234567"),
        ("passport", "j1234567", "J1234567"),
        ("driving_licence", "hr-06 2011 0012345", "HR0620110012345"),
        ("other", " ration/123 ", "RATION/123"),
    ],
)
def test_it_normalises_other_ids(id_type, raw, normalised):
    assert normalise_id_number(id_type, raw) == normalised


def test_it_reads_digits_of_any_script_in_other_ids():
    assert normalise_id_number("pan", "ABCDE१२३४F") == "ABCDE1234F"
    assert normalise_id_number("other", "MH/१२/३४५") == "MH/12/345"


@pytest.mark.parametrize(
    "id_type, raw", [("pan", "ABCD1234F"), ("epic", "AB12345678"), ("passport", "12345678"), ("other", "a!")]
)
def test_it_refuses_malformed_other_ids(id_type, raw):
    with pytest.raises(IdentityError):
        normalise_id_number(id_type, raw)


@pytest.mark.parametrize(
    "raw, code",
    [
        ("AADHAAR", "aadhaar"),
        ("Aadhar Card", "aadhaar"),
        ("आधार", "aadhaar"),
        ("Voter ID", "epic"),
        ("voter_id", "epic"),
        ("PAN card", "pan"),
        ("Passport", "passport"),
        ("पैन", "pan"),
    ],
)
def test_it_understands_id_type_aliases(raw, code):
    assert normalise_id_type(raw) == code


def test_it_names_the_field_of_an_unknown_id_type():
    with pytest.raises(IdentityError) as err:
        normalise_id_type("ration card")
    assert err.value.field == "id_type"
    assert "aadhaar" in str(err.value)


def test_it_keys_the_hash_by_secret_and_type():
    assert id_hash("aadhaar", VALID, key=KEY) == id_hash("aadhaar", VALID, key=KEY)
    assert id_hash("aadhaar", VALID, key=KEY) != id_hash("aadhaar", VALID, key="k2")
    assert id_hash("aadhaar", VALID, key=KEY) != id_hash("other", VALID, key=KEY)
    identity = identify("aadhaar", VALID, key=KEY)
    assert identity.id_last4 == "0124"
    assert VALID not in repr(identity)


def test_it_uses_the_settings_key_by_default(settings):
    settings.COVAX_ID_HASH_KEY = "from-settings"
    assert identify("aadhaar", VALID).id_hash == id_hash("aadhaar", VALID, key="from-settings")


@pytest.mark.parametrize(
    "raw", ["9876543210", "+91 98765 43210", "091-9876543210", "919876543210", "9876543210.0", "(+91) 98765-43210"]
)
def test_it_normalises_indian_mobiles_to_e164(raw):
    assert normalise_phone(raw) == "+919876543210"


@pytest.mark.parametrize("raw", ["", "12345", "0000000000", "abcdefghij"])
def test_it_refuses_bad_mobiles_naming_the_field(raw):
    with pytest.raises(IdentityError) as err:
        normalise_phone(raw)
    assert err.value.field == "phone"


def test_it_tidies_names_and_leaves_devanagari_alone():
    assert normalise_name("  sUNITA   sharma ") == "Sunita Sharma"
    assert normalise_name(" सुनीता  शर्मा ") == "सुनीता शर्मा"


@pytest.mark.parametrize(
    "hindi, latin",
    [
        ("सुनीता शर्मा", "Sunita Sharma"),
        ("राजेश कुमार", "Rajesh Kumar"),
        ("प्रिया सिंह", "Priya Singh"),
        ("अमित वर्मा", "Amit Verma"),
        ("मुकेश यादव", "Mukesh Yadav"),
    ],
)
def test_it_brings_devanagari_and_latin_spellings_together(hindi, latin):
    assert fuzz.token_sort_ratio(latinise_name(hindi), latinise_name(latin)) >= 90


def test_it_keeps_different_names_apart():
    assert fuzz.token_sort_ratio(latinise_name("सुनीता शर्मा"), latinise_name("Rakesh Yadav")) < 60
