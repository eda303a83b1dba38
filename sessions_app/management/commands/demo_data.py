"""Demo data for the quickstart: Haryana and Bihar, Hisar's nine centres, two vaccines,
about a thousand health workers with synthetic (Verhoeff-valid) Aadhaar numbers,
sessions for the coming days, and one user of each role. Safe to run twice."""

from __future__ import annotations

import datetime as dt
import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from beneficiaries.identity import identify, verhoeff_check_digit
from beneficiaries.models import Beneficiary
from beneficiaries.services import reference_id_new
from covax.accounts.models import Role, User
from sessions_app.models import Centre, District, Session, State, Vaccine
from sessions_app.slots import slots_for

DEMO_PASSWORD = "covax-demo-2021"

HISAR_CENTRES = [
    ("Sevak Sabha Hospital", "सेवक सभा अस्पताल", "125001", "Free"),
    ("Jindal Hospital", "जिंदल अस्पताल", "125005", "Paid"),
    ("Sarvodaya Hospital", "सर्वोदय अस्पताल", "125001", "Paid"),
    ("CMC Hospital", "सीएमसी अस्पताल", "125001", "Free"),
    ("Sukhda Hospital", "सुखदा अस्पताल", "125001", "Paid"),
    ("Aadhar Hospital", "आधार अस्पताल", "125001", "Free"),
    ("Geetanjali Hospital", "गीतांजलि अस्पताल", "125001", "Free"),
    ("Civil Hospital Hisar", "नागरिक अस्पताल हिसार", "125001", "Free"),
    ("PHC Mangali", "पीएचसी मंगाली", "125052", "Free"),
]
FIRST = [
    "Sunita",
    "Rajesh",
    "Priya",
    "Amit",
    "Pooja",
    "Suresh",
    "Anita",
    "Vikas",
    "Kavita",
    "Manoj",
    "Neha",
    "Sanjay",
    "Rekha",
    "Deepak",
    "Meena",
    "Ravi",
    "Geeta",
    "Anil",
    "Seema",
    "Rakesh",
]
LAST = ["Sharma", "Kumar", "Singh", "Verma", "Yadav", "Jangra", "Malik", "Saini", "Bishnoi", "Gupta", "Dahiya", "Punia"]


def synthetic_aadhaar(rng: random.Random) -> str:
    body = str(rng.randint(2, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(10))
    return body + verhoeff_check_digit(body)


class Command(BaseCommand):
    help = "Load demo places, vaccines, people, sessions and one user of each role; print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=1000)

    @transaction.atomic
    def handle(self, *args, people: int, **options):
        haryana, _ = State.objects.get_or_create(code="HR", defaults={"name": "Haryana", "name_hi": "हरियाणा"})
        bihar, _ = State.objects.get_or_create(code="BR", defaults={"name": "Bihar", "name_hi": "बिहार"})
        hisar, _ = District.objects.get_or_create(state=haryana, name="Hisar", defaults={"name_hi": "हिसार"})
        kkr, _ = District.objects.get_or_create(state=haryana, name="Kurukshetra", defaults={"name_hi": "कुरुक्षेत्र"})
        mzp, _ = District.objects.get_or_create(state=bihar, name="Muzaffarpur", defaults={"name_hi": "मुज़फ़्फ़रपुर"})
        covishield, _ = Vaccine.objects.get_or_create(
            code="COVISHIELD",
            defaults={"name": "Covishield", "doses": 2, "min_interval_days": 28, "max_interval_days": 84},
        )
        covaxin, _ = Vaccine.objects.get_or_create(
            code="COVAXIN", defaults={"name": "Covaxin", "doses": 2, "min_interval_days": 28, "max_interval_days": 42}
        )
        centres = []
        for i, (name, name_hi, pin, fee) in enumerate(HISAR_CENTRES):
            centre, _ = Centre.objects.get_or_create(
                district=hisar,
                name=name,
                defaults={
                    "name_hi": name_hi,
                    "address": f"{name}, Hisar",
                    "block": "Hisar-I",
                    "pincode": pin,
                    "lat": 29.15 + i / 100,
                    "long": 75.72 + i / 100,
                    "fee_type": fee,
                    "fees": {"COVISHIELD": 780, "COVAXIN": 1410} if fee == "Paid" else {},
                    "opens": dt.time(9),
                    "closes": dt.time(17),
                },
            )
            centres.append(centre)
        lnjp, _ = Centre.objects.get_or_create(
            district=kkr,
            name="LNJP Hospital",
            defaults={"name_hi": "एलएनजेपी अस्पताल", "pincode": "136118", "block": "Thanesar"},
        )
        skmch, _ = Centre.objects.get_or_create(
            district=mzp, name="SKMCH", defaults={"name_hi": "एसकेएमसीएच", "pincode": "842004", "block": "Mushahari"}
        )
        self._people(hisar, centres, people)
        self._sessions(centres + [lnjp, skmch], covishield, covaxin)
        logins = self._users(haryana, hisar, centres[1])
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in at http://127.0.0.1:8000/ with:"))
        for username, role in logins:
            self.stdout.write(f"  {role:<17} {username:<16} password: {DEMO_PASSWORD}")

    def _people(self, district: District, centres: list[Centre], count: int) -> None:
        rng = random.Random(2021)
        have = Beneficiary.objects.filter(district=district).count()
        batch = []
        for i in range(count):
            aadhaar = synthetic_aadhaar(rng)
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            phone = f"+919{rng.randint(100000000, 999999999)}"
            year = rng.randint(1960, 2000)
            if i < have:
                continue
            identity = identify("aadhaar", aadhaar)
            batch.append(
                Beneficiary(
                    reference_id=reference_id_new(),
                    name=name,
                    gender=rng.choice("MF"),
                    birth_year=year,
                    phone=phone,
                    id_type=identity.id_type,
                    id_hash=identity.id_hash,
                    id_last4=identity.id_last4,
                    category="HCW",
                    employer=centres[i % len(centres)].name,
                    district=district,
                    preferred_centre=centres[i % len(centres)],
                )
            )
        Beneficiary.objects.bulk_create(batch, batch_size=500, ignore_conflicts=True)

    def _sessions(self, centres: list[Centre], covishield: Vaccine, covaxin: Vaccine) -> None:
        today = timezone.localdate()
        for offset in range(0, 3):
            for centre in centres:
                vaccine = covaxin if centre.pk % 3 == 0 else covishield
                Session.objects.get_or_create(
                    centre=centre,
                    date=today + dt.timedelta(days=offset),
                    vaccine=vaccine,
                    dose=1,
                    defaults={
                        "capacity": 100,
                        "slots": slots_for(centre.opens, centre.closes),
                        "categories": ["HCW", "FLW"],
                        "status": "open" if offset == 0 else "planned",
                    },
                )

    def _users(self, state: State, district: District, centre: Centre) -> list[tuple[str, str]]:
        wanted = [
            ("admin", Role.SUPERUSER, {}),
            ("haryana_admin", Role.STATE_ADMIN, {"state": state}),
            ("hisar_officer", Role.DISTRICT_OFFICER, {"district": district}),
            ("jindal_staff", Role.CENTRE_STAFF, {"centre": centre}),
        ]
        for username, role, place in wanted:
            user = User.objects.filter(username=username).first() or User(username=username, role=role, **place)
            user.is_superuser = user.is_staff = role == Role.SUPERUSER
            user.set_password(DEMO_PASSWORD)
            user.save()
        return [(u, str(r.label)) for u, r, _p in wanted]
