"""The upload pipeline's fast paths keep the rules (SPEC §3 Uploads, §6): the set-based insert writes
the audit rows one save would, free text survives COPY, a reference id that
clashes is drawn again, and rows are validated in helper processes only where forking
is safe, whose errors reach the caller and which never outlive it."""

from __future__ import annotations

import os
import threading
from unittest import mock

import pghistory
import pytest
from django.apps import apps
from django.test import override_settings

from beneficiaries.models import Beneficiary
from beneficiaries.uploads import parallel, pipeline
from tests.base import ApiTestCase
from tests.factories import BeneficiaryFactory
from tests.uploads import HEADER, as_file, csv_bytes, person_rows


def _twice(value: int) -> tuple[int, int]:
    return value * 2, os.getpid()


def _failing(value: int) -> int:
    if value == 3:
        raise ValueError("row 3 is broken")
    return value


def _children() -> list[int]:
    path = f"/proc/{os.getpid()}/task/{os.getpid()}/children"
    return [int(pid) for pid in open(path).read().split()] if os.path.exists(path) else []


def test_helpers_validate_in_order_and_are_reaped():
    before = _children()
    with parallel.parsed(lambda: iter(range(7)), _twice) as results:
        got = list(results)
    assert [value for value, _pid in got] == [0, 2, 4, 6, 8, 10, 12]
    if threading.active_count() == 1:
        assert {pid for _v, pid in got} - {os.getpid()}, "single-threaded: validated in helper processes"
    assert _children() == before


def test_a_helper_error_reaches_the_caller():
    before = _children()
    with pytest.raises(ValueError, match="row 3 is broken"), parallel.parsed(lambda: iter(range(7)), _failing) as r:
        list(r)
    assert _children() == before


def test_a_process_with_threads_validates_in_line():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with parallel.parsed(lambda: iter(range(3)), _twice) as results:
            assert [pid for _v, pid in results] == [os.getpid()] * 3
    finally:
        stop.set()
        other.join()


class Sender:
    def setUp(self):
        self.api = self.client_for(self.hisar_officer)

    def send(self, content: bytes) -> dict:
        with self.captureOnCommitCallbacks(execute=True):
            r = self.api.post(
                "/api/v1/uploads/",
                {"file": as_file(content), "kind": "beneficiaries", "district": self.hisar.pk},
                format="multipart",
            )
        self.assertEqual(r.status_code, 202, r.content)
        return self.api.get(f"/api/v1/uploads/{r.json()['id']}/").json()


@override_settings(COVAX_BACKGROUND="eager")
class PipelineTestCase(Sender, ApiTestCase):
    def test_tabs_newlines_and_backslashes_in_free_text_are_stored_as_written(self):
        people = person_rows(3)
        people[0][7] = "Ward\t7\\B"
        people[1][7] = "Civil Hospital\nAnnexe"
        people[2][0] = "Anita \\ Rani"
        self.assertEqual(self.send(csv_bytes(people))["rows_created"], 3)
        stored = dict(Beneficiary.objects.values_list("upload_row", "employer"))
        self.assertEqual((stored[2], stored[3]), ("Ward\t7\\B", "Civil Hospital\nAnnexe"))
        self.assertTrue(Beneficiary.objects.filter(name="Anita \\ Rani").exists())

    def test_a_reference_id_that_clashes_is_drawn_again(self):
        taken = BeneficiaryFactory(district=self.hisar).reference_id
        real = pipeline.reference_ids
        draws = iter([lambda n: [taken] * n])  # the first draw hits a taken id

        def draw(n):
            return next(draws, real)(n)

        with mock.patch.object(pipeline, "reference_ids", draw):
            body = self.send(csv_bytes(person_rows(3)))
        self.assertEqual((body["status"], body["rows_created"]), ("succeeded", 3))
        refs = list(Beneficiary.objects.exclude(reference_id=taken).values_list("reference_id", flat=True))
        self.assertEqual(len(set(refs)), 3)


@pytest.mark.postgres
@override_settings(COVAX_BACKGROUND="eager")
class CopyTestCase(Sender, ApiTestCase):
    def test_people_stored_by_another_upload_after_the_look_up_count_as_existing(self):
        rows = person_rows(4, seed=3)
        self.assertEqual(self.send(csv_bytes(rows[:2]))["rows_created"], 2)
        # As if another upload had stored the first two between this chunk's look-up
        # and its COPY: the identity index refuses the COPY, the general path decides.
        with mock.patch.object(pipeline, "_owners_of", return_value={}) as look_up:
            body = self.send(csv_bytes(rows))
        look_up.assert_called()
        self.assertEqual((body["status"], body["rows_created"], body["rows_existing"]), ("succeeded", 2, 2))
        self.assertEqual(Beneficiary.objects.count(), 4)
        events = apps.get_model("beneficiaries", "BeneficiaryEvent").objects.filter(pgh_label="insert")
        self.assertEqual(events.count(), 4, "one insert audit row per person, none for the undone COPY")

    def test_a_re_uploaded_list_copies_no_one(self):
        rows = person_rows(5, seed=4)
        self.send(csv_bytes(rows))
        with mock.patch.object(pipeline, "_staged_insert") as staged:
            body = self.send(csv_bytes(list(reversed(rows))))
        staged.assert_not_called()
        self.assertEqual((body["rows_created"], body["rows_existing"]), (0, 5))
        self.assertEqual(Beneficiary.objects.count(), 5)


@pytest.mark.postgres
@override_settings(COVAX_BACKGROUND="eager")
class AuditedInsertTestCase(Sender, ApiTestCase):
    def test_the_set_based_insert_writes_the_audit_rows_the_trigger_would(self):
        events = apps.get_model("beneficiaries", "BeneficiaryEvent")
        by_trigger = BeneficiaryFactory(district=self.hisar, employer="PHC", preferred_centre=self.centre_a)
        people = [row + [str(self.centre_a.pk)] for row in person_rows(2)]
        self.assertEqual(self.send(csv_bytes(people, [*HEADER, "centre_id"]))["rows_created"], 2)
        uploaded = list(Beneficiary.objects.exclude(pk=by_trigger.pk).order_by("upload_row"))
        after = BeneficiaryFactory(district=self.hisar)
        tracked = [f.attname for f in events._meta.concrete_fields if not f.name.startswith("pgh_")]
        for person in [by_trigger, *uploaded, after]:
            audit = list(events.objects.filter(pgh_obj_id=person.pk))
            self.assertEqual([e.pgh_label for e in audit], ["insert"], f"one insert audit row for {person}")
            for name in tracked:  # every column the trigger copies, copied
                self.assertEqual(getattr(audit[0], name), getattr(person, name), name)
        self.assertEqual(uploaded[0].preferred_centre_id, self.centre_a.pk)

    def test_people_are_audited_once_per_change_with_their_context(self):
        """The audit trigger runs per statement (beneficiaries/models.py): every row a
        statement inserts, changes or deletes still gets its own audit row, with the
        context of the change; a save that changes nothing, or a statement that touches
        no row, writes none."""
        events = apps.get_model("beneficiaries", "BeneficiaryEvent")
        with pghistory.context(reason="checking the audit"):
            a = BeneficiaryFactory(district=self.hisar, name="Sunita Devi")
            b = BeneficiaryFactory(district=self.hisar)
            a.name = "Sunita Sharma"
            a.save()
            b.save()  # nothing changed
            self.assertEqual(Beneficiary.objects.filter(pk__in=[a.pk, b.pk]).update(employer="PHC Mangali"), 2)
            self.assertEqual(Beneficiary.objects.filter(pk=-1).update(employer="nobody"), 0)
            b_pk = b.pk
            b.delete()
        audit_a = list(events.objects.filter(pgh_obj_id=a.pk).order_by("pgh_id"))
        audit_b = list(events.objects.filter(pgh_obj_id=b_pk).order_by("pgh_id"))
        self.assertEqual([e.pgh_label for e in audit_a], ["insert", "update", "update"])
        self.assertEqual([e.pgh_label for e in audit_b], ["insert", "update", "delete"])
        self.assertEqual([e.name for e in audit_a], ["Sunita Devi", "Sunita Sharma", "Sunita Sharma"])
        self.assertEqual([e.employer for e in audit_a][-1], "PHC Mangali")
        self.assertEqual(audit_b[-1].employer, "PHC Mangali", "a delete keeps the row as it was")
        for event in audit_a + audit_b:
            self.assertEqual(event.pgh_context.metadata["reason"], "checking the audit")
        self.assertFalse(events.objects.filter(employer="nobody").exists())
