"""The OpenAPI schema of API v1 is complete and truthful (SPEC §4, issue 6): it validates
with no warning, every operation names its request and answer bodies and the errors it
can give with their codes, the main writes carry examples, and the docs page loads
Swagger UI from the portal itself."""

from __future__ import annotations

import json
import re
import tempfile

from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import SimpleTestCase, TestCase

SCHEMA_URL = "/api/schema/"


def _schema(client) -> dict:
    response = client.get(SCHEMA_URL, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return json.loads(response.content)


def _codes(operation: dict, status: int) -> list[str]:
    """The `code` enum an operation documents for an error status."""
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Error"}
    return schema["allOf"][1]["properties"]["code"]["enum"]


class SchemaValidityTestCase(SimpleTestCase):
    def test_it_validates_against_openapi_with_no_warning(self):
        with tempfile.NamedTemporaryFile(suffix=".yaml") as out:
            # --fail-on-warn turns any warning (an unresolvable field, an enum name
            # clash, a view without a serializer) into a failure.
            call_command("spectacular", "--validate", "--fail-on-warn", "--file", out.name)


class SchemaContentTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.schema = None

    def setUp(self):
        if SchemaContentTestCase.schema is None:
            SchemaContentTestCase.schema = _schema(self.client)
        self.paths = self.schema["paths"]

    def operations(self):
        for path, item in self.paths.items():
            for method, operation in item.items():
                if path.startswith("/api/v1/"):
                    yield path, method, operation

    def test_it_has_a_title_version_description_and_tags_by_resource(self):
        info = self.schema["info"]
        self.assertEqual((info["title"], info["version"]), ("covax API", "1.0.0"))
        self.assertIn("Authorization: Token", info["description"])
        tags = [t["name"] for t in self.schema["tags"]]
        for tag in ["auth", "users", "states", "districts", "centres", "vaccines", "beneficiaries", "sessions"]:
            self.assertIn(tag, tags)
        for path, method, operation in self.operations():
            self.assertEqual(len(operation.get("tags", [])), 1, (method, path))
            self.assertIn(operation["tags"][0], tags, (method, path))
            self.assertTrue(operation.get("summary"), (method, path))

    def test_every_spec_endpoint_is_there_with_its_methods(self):
        spec = {
            "/api/v1/auth/token/": {"post"},
            "/api/v1/users/": {"get", "post"},
            "/api/v1/states/": {"get", "post"},
            "/api/v1/districts/": {"get", "post"},
            "/api/v1/centres/": {"get", "post"},
            "/api/v1/vaccines/": {"get", "post"},
            "/api/v1/beneficiaries/": {"get", "post"},
            "/api/v1/uploads/": {"get", "post"},
            "/api/v1/uploads/{id}/": {"get"},
            "/api/v1/uploads/{id}/rollback/": {"post"},
            "/api/v1/sessions/": {"get", "post"},
            "/api/v1/sessions/bulk/": {"post"},
            "/api/v1/sessions/{id}/allocate/": {"post"},
            "/api/v1/sessions/{id}/list/": {"get"},
            "/api/v1/vaccinations/": {"get", "post"},
            "/api/v1/reports/sessions/": {"get"},
            "/api/v1/reports/coverage/": {"get"},
        }
        for path, methods in spec.items():
            self.assertLessEqual(methods, set(self.paths.get(path, {})), path)

    def test_every_operation_has_bodies_and_its_error_answers(self):
        for path, method, operation in self.operations():
            where = (method, path)
            responses = operation["responses"]
            ok = [s for s in responses if s.startswith("2")]
            self.assertTrue(ok, where)
            if method in ("post", "patch") and path != "/api/v1/uploads/{id}/rollback/":
                self.assertIn("requestBody", operation, where)
                self.assertIn("parse_error", _codes(operation, 400), where)
            if path != "/api/v1/auth/token/":
                self.assertEqual(_codes(operation, 401), ["not_authenticated", "authentication_failed"], where)
            if "{" in path:
                self.assertEqual(_codes(operation, 404), ["not_found"], where)
            if method != "get" and path != "/api/v1/auth/token/":
                self.assertIn("permission_denied", _codes(operation, 403), where)
            for status in responses:
                if status >= "400":
                    self.assertTrue(_codes(operation, int(status)), where)

    def test_the_key_operations_list_their_domain_errors(self):
        post = {path: item.get("post") for path, item in self.paths.items()}
        vaccinate = post["/api/v1/vaccinations/"]
        self.assertIn("already_vaccinated", _codes(vaccinate, 409))
        self.assertLessEqual({"previous_dose_missing", "vaccine_mismatch", "dose_not_due"}, set(_codes(vaccinate, 422)))
        self.assertIn(
            "existing", vaccinate["responses"]["409"]["content"]["application/json"]["schema"]["allOf"][1]["properties"]
        )
        self.assertEqual(set(_codes(post["/api/v1/beneficiaries/"], 409)), {"already_exists", "duplicate_identity"})
        self.assertEqual(_codes(post["/api/v1/beneficiaries/"], 503), ["try_again"])
        self.assertEqual(_codes(post["/api/v1/sessions/{id}/allocate/"], 422), ["session_closed"])
        self.assertEqual(_codes(post["/api/v1/uploads/"], 413), ["file_too_large"])
        self.assertIn("unsupported_file", _codes(post["/api/v1/uploads/"], 400))
        self.assertEqual(_codes(post["/api/v1/uploads/{id}/rollback/"], 409), ["already_rolled_back", "running"])
        token = post["/api/v1/auth/token/"]
        self.assertEqual(_codes(token, 429), ["throttled", "locked_out"])
        self.assertIn("Retry-After", token["responses"]["429"]["headers"])
        self.assertIn("invalid_credentials", _codes(token, 400))
        patch = self.paths["/api/v1/sessions/{id}/"]["patch"]
        self.assertEqual(_codes(patch, 422), ["invalid_status_change", "capacity_below_allocated"])

    def test_the_error_component_is_code_and_detail(self):
        error = self.schema["components"]["schemas"]["Error"]
        self.assertEqual(set(error["required"]), {"code", "detail"})
        self.assertLessEqual({"code", "detail", "errors", "field"}, set(error["properties"]))

    def test_the_main_writes_carry_examples(self):
        for path in [
            "/api/v1/vaccinations/",
            "/api/v1/sessions/{id}/allocate/",
            "/api/v1/beneficiaries/",
            "/api/v1/uploads/",
            "/api/v1/sessions/bulk/",
        ]:
            body = self.paths[path]["post"]["requestBody"]["content"]
            media = body.get("application/json") or body["multipart/form-data"]
            self.assertTrue(media.get("examples"), path)

    def test_lists_are_paginated_filtered_and_ordered(self):
        for path in ["/api/v1/districts/", "/api/v1/centres/", "/api/v1/sessions/", "/api/v1/beneficiaries/"]:
            operation = self.paths[path]["get"]
            names = {p["name"] for p in operation["parameters"]}
            self.assertLessEqual({"page", "page_size", "ordering"}, names, path)
            ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            page = self.schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
            self.assertLessEqual({"count", "next", "previous", "results"}, set(page["properties"]), path)
        names = {p["name"] for p in self.paths["/api/v1/sessions/"]["get"]["parameters"]}
        self.assertLessEqual({"centre", "date", "vaccine", "dose", "status", "district"}, names)
        names = {p["name"] for p in self.paths["/api/v1/beneficiaries/"]["get"]["parameters"]}
        self.assertLessEqual({"district", "category", "reference_id", "id_type", "id_number"}, names)

    def test_the_docs_page_loads_swagger_ui_from_the_portal(self):
        page = self.client.get("/api/docs/")
        self.assertEqual(page.status_code, 200)
        html = page.content.decode()
        self.assertNotRegex(html, r"(src|href)=\"https?://")
        # No inline code (the page runs under the strict CSP): the boot script is a file.
        self.assertNotRegex(html, r"<script>|<style")
        boot = self.client.get("/api/docs/?script=")
        self.assertEqual(boot.status_code, 200)
        self.assertIn(SCHEMA_URL, boot.content.decode())
        assets = re.findall(r"(?:src|href)=\"/static/([^\"]+)\"", html)
        self.assertTrue(any("swagger-ui-bundle" in a for a in assets), assets)
        for asset in assets:
            self.assertTrue(finders.find(asset), asset)
