"""DRF's own messages in Hindi (SPEC: every message in English and Hindi).

DRF and django-filter ship no Hindi catalogue, so locale/hi/LC_MESSAGES/django.po holds
Hindi for every message of theirs that an API caller of covax can meet. An API caller
who sends `Accept-Language: hi` gets each of them in Devanagari, never DRF's English.
"""

from __future__ import annotations

import re

from django.utils import translation

from sessions_app.models import Vaccination
from tests.base import ApiTestCase
from tests.guard import dose_body, people, session_at

DEVANAGARI = re.compile("[\u0900-\u097f]")

# DRF's msgids (rest_framework/*.py, exactly) that can reach a caller of covax, and the
# few of Django and django-filter that come with them. Left out: BasicAuthentication,
# versioning, cursor and limit/offset pagination, SearchFilter, hyperlinked relations,
# fields covax never declares (email, URL, IP, slug, file path, image, duration, float,
# multiple choice), unique_for_date, DRF's ObtainAuthToken serializer and the browsable
# API's HTML-only words.
REACHABLE = [
    # authentication.py (TokenAuthentication; "Invalid token." is covax's own call too)
    "Invalid token header. No credentials provided.",
    "Invalid token header. Token string should not contain spaces.",
    "Invalid token header. Token string should not contain invalid characters.",
    "Invalid token.",
    "User inactive or deleted.",
    # exceptions.py
    "A server error occurred.",
    "Invalid input.",
    "Malformed request.",
    "Incorrect authentication credentials.",
    "Authentication credentials were not provided.",
    "You do not have permission to perform this action.",
    "Not found.",
    'Method "{method}" not allowed.',
    "Could not satisfy the request Accept header.",
    'Unsupported media type "{media_type}" in request.',
    "Request was throttled.",
    # fields.py
    "This field is required.",
    "This field may not be null.",
    "Must be a valid boolean.",
    "Not a valid string.",
    "This field may not be blank.",
    "Ensure this field has no more than {max_length} characters.",
    "Ensure this field has at least {min_length} characters.",
    "This value does not match the required pattern.",
    "Must be a valid UUID.",
    "A valid integer is required.",
    "Ensure this value is less than or equal to {max_value}.",
    "Ensure this value is greater than or equal to {min_value}.",
    "String value too large.",
    "A valid biginteger is required.",
    "A valid number is required.",
    "Ensure that there are no more than {max_digits} digits in total.",
    "Ensure that there are no more than {max_decimal_places} decimal places.",
    "Ensure that there are no more than {max_whole_digits} digits before the decimal point.",
    "Datetime has wrong format. Use one of these formats instead: {format}.",
    "Expected a datetime but got a date.",
    'Invalid datetime for the timezone "{timezone}".',
    "Datetime value out of range.",
    "Date has wrong format. Use one of these formats instead: {format}.",
    "Expected a date but got a datetime.",
    "Time has wrong format. Use one of these formats instead: {format}.",
    '"{input}" is not a valid choice.',
    'Expected a list of items but got type "{input_type}".',
    "This list may not be empty.",
    "Ensure this field has at least {min_length} elements.",
    "Ensure this field has no more than {max_length} elements.",
    "No file was submitted.",
    "The submitted data was not a file. Check the encoding type on the form.",
    "No filename could be determined.",
    "The submitted file is empty.",
    "Ensure this filename has at most {max_length} characters (it has {length}).",
    'Expected a dictionary of items but got type "{input_type}".',
    "This dictionary may not be empty.",
    "Value must be valid JSON.",
    # filters.py, pagination.py (the OpenAPI schema's parameter descriptions, and errors)
    "Which field to use when ordering the results.",
    "A page number within the paginated result set.",
    "Number of results to return per page.",
    "Invalid page.",
    # relations.py, serializers.py, validators.py
    'Invalid pk "{pk_value}" - object does not exist.',
    "Incorrect type. Expected pk value, received {data_type}.",
    "Object with {slug_name}={value} does not exist.",
    "Invalid value.",
    "Invalid data. Expected a dictionary, but got {datatype}.",
    "This field must be unique.",
    "The fields {field_names} must make a unique set.",
    "Surrogate characters are not allowed: U+{code_point:X}.",
    # Django's, checked by DRF's CharField
    "Null characters are not allowed.",
    # rest_framework.authtoken (the admin's Tokens page)
    "Auth Token",
    "Key",
    "User",
    "Created",
    "Token",
    "Tokens",
    "Username",
    # django-filter: the lookups covax's filters use, in their labels
    "date",
    "contains",
    "is greater than or equal to",
    "is less than or equal to",
    "is null",
    "exclude",
]

PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class CatalogueTestCase(ApiTestCase):
    def test_it_has_hindi_for_every_reachable_drf_message(self):
        missing = []
        with translation.override("hi"):
            for msgid in REACHABLE:
                text = translation.gettext(msgid)
                if text == msgid or not DEVANAGARI.search(text):
                    missing.append(msgid)
                elif sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(msgid)):
                    missing.append(f"{msgid} (placeholders differ: {text})")
        self.assertEqual(missing, [])

    def test_it_keeps_drfs_placeholders_fillable(self):
        from rest_framework import exceptions

        with translation.override("hi"):
            self.assertIn('"PUT"', str(exceptions.MethodNotAllowed("PUT").detail))
            self.assertIn('"text/plain"', str(exceptions.UnsupportedMediaType("text/plain").detail))
            surrogate = translation.gettext("Surrogate characters are not allowed: U+{code_point:X}.")
            self.assertIn("U+D800", surrogate.format(code_point=0xD800))
            plural = translation.ngettext(
                "Expected available in {wait} second.", "Expected available in {wait} seconds.", 5
            ).format(wait=5)
            self.assertIn("5 सेकंड", plural)


class HindiAnswersTestCase(ApiTestCase):
    def setUp(self):
        self.person = people(1, district=self.hisar)[0]
        self.session = session_at(self.centre_a, self.covishield)

    def tearDown(self):
        translation.deactivate()  # LocaleMiddleware leaves the request's language active

    def hindi(self, client):
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "hi"
        return client

    def assert_hindi(self, response, status: int, code: str, word: str, english: str):
        self.assertEqual(response.status_code, status, response.content)
        body = response.json()
        self.assertEqual(body["code"], code)
        text = response.content.decode()
        self.assertIn(word, body["detail"])
        self.assertRegex(body["detail"], DEVANAGARI)
        self.assertNotIn(english, text)

    def dose(self, **over):
        body = dose_body(self.person, self.session, **{"lot_number": "4121Z025", **over})
        return {key: value for key, value in body.items() if value is not None}

    def test_it_names_a_missing_field_and_a_non_integer_dose_in_hindi(self):
        api = self.hindi(self.client_for(self.staff_a))
        r = api.post("/api/v1/vaccinations/", self.dose(vaccine=None, dose="two"), format="json")
        self.assertEqual((r.status_code, r.json()["code"]), (400, "invalid"), r.content)
        errors = r.json()["errors"]
        self.assertEqual(errors["vaccine"], ["यह फ़ील्ड ज़रूरी है।"])
        self.assertEqual(errors["dose"], ["पूर्ण संख्या होनी चाहिए (जैसे 1 या 2)।"])
        self.assertRegex(r.json()["detail"], DEVANAGARI)
        self.assertNotIn("This field is required.", r.content.decode())
        self.assertNotIn("A valid integer is required.", r.content.decode())
        self.assertEqual(Vaccination.objects.count(), 0)

    def test_it_asks_for_credentials_in_hindi(self):
        r = self.hindi(self.client_for(None)).get("/api/v1/vaccinations/")
        self.assert_hindi(r, 401, "not_authenticated", "साइन इन", "Authentication credentials were not provided.")

    def test_it_refuses_an_invalid_token_in_hindi(self):
        api = self.hindi(self.client_for(None))
        api.credentials(HTTP_AUTHORIZATION="Token 0000000000000000000000000000000000000000")
        r = api.get("/api/v1/vaccinations/")
        self.assert_hindi(r, 401, "authentication_failed", "टोकन", "Invalid token.")
        api.credentials(HTTP_AUTHORIZATION="Token two words")
        r = api.get("/api/v1/vaccinations/")
        self.assert_hindi(r, 401, "authentication_failed", "टोकन हेडर", "should not contain spaces")

    def test_it_refuses_a_state_admins_write_to_centre_staff_in_hindi(self):
        api = self.hindi(self.client_for(self.staff_a))
        r = api.post("/api/v1/vaccines/", {"code": "SPUTNIK", "name": "Sputnik V"}, format="json")
        self.assert_hindi(r, 403, "permission_denied", "अनुमति", "You do not have permission")

    def test_it_answers_an_id_that_does_not_exist_in_hindi(self):
        r = self.hindi(self.client_for(self.haryana_admin)).get("/api/v1/centres/999999/")
        self.assert_hindi(r, 404, "not_found", "नहीं मिला", "Not found.")

    def test_it_refuses_a_method_in_hindi(self):
        r = self.hindi(self.client_for(self.haryana_admin)).put(
            f"/api/v1/centres/{self.centre_a.pk}/", {"closes": "18:00"}, format="json"
        )
        self.assert_hindi(r, 405, "method_not_allowed", "अनुमति", "not allowed")
        self.assertIn('"PUT"', r.json()["detail"])

    def test_it_refuses_an_unsupported_media_type_in_hindi(self):
        api = self.hindi(self.client_for(self.staff_a))
        r = api.post("/api/v1/vaccinations/", "dose=1", content_type="text/plain")
        self.assert_hindi(r, 415, "unsupported_media_type", "स्वीकार नहीं", "Unsupported media type")
        self.assertIn('"text/plain"', r.json()["detail"])

    def test_it_refuses_malformed_json_in_hindi(self):
        api = self.hindi(self.client_for(self.staff_a))
        r = api.post("/api/v1/vaccinations/", '{"dose": 1,', content_type="application/json")
        self.assert_hindi(r, 400, "parse_error", "JSON", "JSON parse error")

    def test_it_refuses_an_invalid_page_in_hindi(self):
        r = self.hindi(self.client_for(self.haryana_admin)).get("/api/v1/centres/?page=999")
        self.assert_hindi(r, 404, "not_found", "पृष्ठ", "Invalid page.")

    def test_it_still_answers_english_callers_in_english(self):
        r = self.client_for(None).get("/api/v1/vaccinations/", HTTP_ACCEPT_LANGUAGE="en")
        self.assertEqual(r.json()["detail"], "Authentication credentials were not provided.")
