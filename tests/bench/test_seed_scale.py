"""`manage.py seed_scale` (bench/seeding.py): valid farm-country data, COPY on PostgreSQL, the same for a seed."""

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from io import BytesIO, StringIO

import phonenumbers
import pikepdf
import psycopg
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail.backends.filebased import EmailBackend
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from schwifty import IBAN
from stdnum.fr import siret

from accounts.models import User
from approvals.models import ApprovalRequest
from bench import mailbox, seeding
from chorus.uploads import clean_upload
from structures.models import BankAccount, Membership, Structure
from structures.validators import (
    clean_bic,
    clean_french_postal_code,
    clean_iban,
    clean_pacage,
    clean_siret,
    clean_vat_number,
)
from tests.factories import UserFactory

STRUCTURES, USERS, PENDING = 300, 800, 60
MANAGER, MEMBER = "bench.gestionnaire@exemple.fr", "bench.utilisateur@exemple.fr"
State = ApprovalRequest.State
TABLES = [User, Structure, Membership, BankAccount, ApprovalRequest]


def seed(tmp_path, **sizes) -> dict:
    """Runs the real command; returns its manifest."""
    manifest, output = tmp_path / "seed.json", StringIO()
    call_command("seed_scale", seed=7, manifest=manifest, stdout=output, **sizes)
    assert output.getvalue().splitlines()[-1].startswith("Seeded in ")
    return json.loads(manifest.read_text())


@pytest.fixture
def seeded(db, private_media, tmp_path):
    """A small farm country; returns the manifest."""
    return seed(tmp_path, structures=STRUCTURES, users=USERS, pending=PENDING)


def test_it_fills_each_table_and_reports_the_counts(seeded):
    counts = {model._meta.db_table: model.objects.count() for model in TABLES}
    assert counts == seeded["counts"]
    assert counts["accounts_user"] == USERS and counts["structures_structure"] == STRUCTURES
    # About 70% of structures have bank details; besides the bench's queue, one pending request per two structures.
    assert 0.6 * STRUCTURES < Structure.objects.filter(bank_accounts__is_default=True).count() < 0.8 * STRUCTURES
    states = Counter(ApprovalRequest.objects.values_list("state", flat=True))
    assert states[State.REQUESTED] == PENDING + STRUCTURES // 2 + 1  # + the bench member's own
    assert states[State.APPROVED] == Membership.objects.exclude(role=Membership.Role.MAIN_MANAGER).count()
    assert states[State.REFUSED] > 0 and states[State.WITHDRAWN] > 0


def test_identifiers_pass_the_portals_validators_and_are_unique(seeded):
    structures = list(Structure.objects.values_list("siret", "vat_number", "pacage", "postal_code"))
    sirets = [number for number, *_ in structures]
    assert all(clean_siret(number) == number and siret.is_valid(number) for number in sirets)
    assert len(set(sirets)) == len(sirets)
    vat_numbers = [(vat, number[:9]) for number, vat, *_ in structures if vat]
    assert vat_numbers and all(clean_vat_number(vat, siren) == vat for vat, siren in vat_numbers)
    pacages = [pacage for _, _, pacage, _ in structures if pacage]
    assert all(clean_pacage(number) == number for number in pacages) and len(set(pacages)) == len(pacages)
    assert all(clean_french_postal_code(code) == code for *_, code in structures)
    for iban, bic in BankAccount.objects.values_list("iban", "bic"):
        assert IBAN(iban, validate_bban=True).country_code == "FR"  # the RIB key too
        clean_bic(bic, clean_iban(iban))  # the bank's own BIC, as the form requires
    phones = [*Structure.objects.values_list("phone", flat=True), *User.objects.values_list("phone", flat=True)]
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(phone)) for phone in phones if phone)
    emails = list(User.objects.values_list("email", flat=True))
    assert all(email == email.lower() and email.isascii() for email in emails) and len(set(emails)) == len(emails)


def test_every_row_passes_its_models_validation(seeded):
    """Field rules (choices, lengths, e-mail formats) and every `Meta.constraints`, as Django checks them."""
    for model in TABLES:
        for row in model.objects.all():
            row.full_clean(validate_unique=False)  # the unique constraints are among the constraints checked
    kinds = dict(Structure.BeneficiaryCategory.choices)
    assert set(Structure.objects.values_list("beneficiary_category", flat=True)) <= {"", *kinds}


def test_every_structure_has_one_activated_main_manager_and_centres_no_pacage(seeded):
    main = Q(memberships__role=Membership.Role.MAIN_MANAGER)
    structures = Structure.objects.annotate(
        mains=Count("memberships", filter=main),
        eligible=Count("memberships", filter=main & Q(memberships__user__is_active=True)),
    )
    assert set(structures.values_list("mains", "eligible")) == {(1, 1)}
    centres = Structure.objects.filter(is_agricultural_centre=True)
    assert centres.exists() and not centres.exclude(pacage="", beneficiary_category="").exists()
    biggest_centre = centres.annotate(people=Count("memberships")).order_by("-people").first()
    assert biggest_centre.people >= 10
    assert 0.02 < User.objects.filter(is_active=False).count() / USERS < 0.08
    assert not User.objects.filter(is_active=False).exclude(password__startswith="!").exists()


def test_dates_follow_each_other(seeded):
    """Accounts and structures come before their requests and memberships, requests before their decisions."""
    too_early = Q(created_at__lt=F("requester__date_joined")) | Q(created_at__lt=F("structure__created_at"))
    assert not ApprovalRequest.objects.filter(too_early).exists()
    assert not ApprovalRequest.objects.filter(decided_at__lt=F("created_at")).exists()
    too_early = Q(created_at__lt=F("user__date_joined")) | Q(created_at__lt=F("structure__created_at"))
    assert not Membership.objects.filter(too_early).exists()
    assert not BankAccount.objects.filter(created_at__lt=F("structure__created_at")).exists()
    assert not User.objects.filter(activated_at__lt=F("date_joined")).exists()


def test_the_bench_manager_has_the_pending_queue_and_two_bank_accounts(seeded):
    manager = User.objects.get(email=MANAGER)
    farm = Structure.objects.get(pk=seeded["structure_id"])
    assert farm.name == "EARL Banc d'Essai" and farm.pacage.startswith("026")
    assert farm.memberships.get(role=Membership.Role.MAIN_MANAGER).user == manager
    assert farm.memberships.count() >= 4
    queue = ApprovalRequest.objects.decidable_by(manager).pending()
    assert queue.count() == PENDING
    assert queue.values("requester").distinct().count() == PENDING
    assert not queue.filter(requester__memberships__structure=farm).exists()
    assert not queue.filter(created_at__lt=timezone.now() - timedelta(days=60)).exists()
    accounts = farm.bank_accounts.all()
    assert sorted(accounts.values_list("pk", flat=True)) == sorted(seeded["bank_account_ids"])
    assert [account.is_default for account in accounts] == [True, False]


def test_the_bench_member_is_a_user_of_the_farm_with_requests_of_their_own(seeded):
    member = User.objects.get(email=MEMBER)
    assert member.memberships.get(structure_id=seeded["structure_id"]).role == Membership.Role.USER
    states = Counter(
        member.approval_requests.exclude(structure_id=seeded["structure_id"]).values_list("state", flat=True)
    )
    assert states == {State.REQUESTED: 1, State.APPROVED: 1, State.REFUSED: 1}


def test_the_personas_sign_in_through_the_sign_in_page_with_the_password(seeded, client, outbox, tmp_path):
    """As the benchmark signs them in: the password, then the code read from the mail the file backend wrote."""
    mail_dir, delivered = tmp_path / "mail", 0
    for email in (seeded["manager"], seeded["member"]):
        since = time.time()
        response = client.post(reverse("accounts:login"), {"username": email, "password": seeded["password"]})
        assert response.status_code == 302 and response.url.startswith(reverse("twofactor:verify")), email
        form = client.get(response.url)
        mails = outbox()
        EmailBackend(file_path=str(mail_dir), alias="bench").send_messages(mails[delivered:])
        delivered = len(mails)

        code = mailbox.sign_in_code(mail_dir, email, since, timeout=5)

        device = form.context["device"].persistent_id
        response = client.post(response.url, {"code": code, "device": device, "next": "/"})
        assert response.status_code == 302 and response.url == reverse("home"), email
        assert client.get(reverse("approvals:approval_list")).status_code == 200
        client.logout()
    assert seeded["password"] == seeding.DEFAULT_PASSWORD
    # Every other activated user shares that password's hash: a million users cost one hash.
    assert User.objects.filter(is_active=True).values("password").distinct().count() == 1


def test_the_placeholder_rib_is_a_pdf_the_portal_accepts():
    content = seeding.RIB_FIXTURE.read_bytes()
    assert content.startswith(b"%PDF-1.") and content.rstrip().endswith(b"%%EOF")
    rib = clean_upload(SimpleUploadedFile("rib-fictif.pdf", content, content_type="application/pdf"))
    assert rib.content_type == "application/pdf"


def test_the_placeholder_rib_is_stored_once_and_downloads(seeded, sign_in):
    farm_account = BankAccount.objects.get(pk=seeded["bank_account_ids"][0])
    assert set(BankAccount.objects.values_list("rib", "rib_content_type")) == {
        (farm_account.rib.name, "application/pdf")
    }
    response = sign_in(User.objects.get(email=MANAGER)).get(reverse("structures:rib_download", args=[farm_account.pk]))
    assert response.status_code == 200
    # Stored as uploads are: rewritten by pikepdf, its page kept.
    with (
        pikepdf.open(BytesIO(b"".join(response.streaming_content))) as stored,
        pikepdf.open(seeding.RIB_FIXTURE) as fixture,
    ):
        assert len(stored.pages) == len(fixture.pages)


def test_the_manifest_names_what_the_bench_needs(seeded):
    assert set(seeded) == {
        "password", "manager", "member", "structure_id", "bank_account_ids", "pending_request_ids", "sirets",
        "counts", "seconds",
    }  # fmt: skip
    pending = ApprovalRequest.objects.filter(pk__in=seeded["pending_request_ids"])
    assert len(seeded["pending_request_ids"]) == PENDING
    assert pending.filter(structure_id=1, state=State.REQUESTED).count() == PENDING
    newest = list(pending.order_by("-created_at").values_list("pk", flat=True))
    assert seeded["pending_request_ids"] == newest
    assert len(seeded["sirets"]) == STRUCTURES == Structure.objects.filter(siret__in=seeded["sirets"]).count()
    assert seeded["seconds"] >= 0


def test_new_rows_get_the_next_ids(seeded):
    user = UserFactory()
    assert user.pk == USERS + 1


def rows_of(seed: int, now) -> dict:
    plan = seeding.Plan(100, 300, 20, 50, seed=seed, now=now)
    rows = seeding.Rows(plan, "hash", seeding.StoredRib("rib.pdf", "application/pdf"), "v")
    tables = ("users", "structures", "bank_accounts")
    return {"plan": (plan.memberships, plan.requests), **{table: list(getattr(rows, table)()) for table in tables}}


def test_the_same_seed_gives_the_same_data(db):
    now = timezone.now()
    assert rows_of(3, now) == rows_of(3, now)
    other = rows_of(4, now)
    assert all(other[table] != rows for table, rows in rows_of(3, now).items())


def test_the_faker_pools_do_not_depend_on_the_process():
    """Another process, another hash seed: the same names, streets and communes (none comes out of a set)."""
    script = (
        "import django, hashlib; django.setup()\n"
        "from bench.seeding import Pools\n"
        "pools = Pools(5)\n"
        "text = repr((pools.first_names, pools.last_names, pools.streets, pools.departements))\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "DJANGO_SETTINGS_MODULE": "tests.settings"},
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(digests) == 1


def test_it_refuses_a_database_that_is_not_empty(db, private_media, tmp_path):
    UserFactory()
    with pytest.raises(CommandError, match="not empty"):
        call_command("seed_scale", structures=20, users=50, pending=5, manifest=tmp_path / "seed.json")
    assert User.objects.count() == 1 and not Structure.objects.exists()
    assert not (tmp_path / "seed.json").exists()


def test_it_refuses_more_pending_requests_than_requesters(db, private_media):
    with pytest.raises(CommandError, match="more users"):
        call_command("seed_scale", structures=20, users=50, pending=100)


@pytest.mark.postgres
def test_on_postgresql_each_table_is_filled_by_one_copy(postgresql_only, private_media, tmp_path, monkeypatch):
    copies = []
    copy = psycopg.Cursor.copy

    def recorded_copy(cursor, statement, *args, **kwargs):
        copies.append(str(statement))
        return copy(cursor, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", recorded_copy)
    with CaptureQueriesContext(connection) as queries:
        manifest = seed(tmp_path, structures=60, users=200, pending=10)

    tables = [model._meta.db_table for model in TABLES]
    assert [statement.split()[1].strip('"') for statement in copies] == tables
    assert all(statement.endswith("FROM STDIN") for statement in copies)
    assert not [query["sql"] for query in queries.captured_queries if query["sql"].startswith("INSERT")]
    assert manifest["counts"] == {model._meta.db_table: model.objects.count() for model in TABLES}
    # The models' enums went in as their values, and the rows hold under every constraint.
    assert set(Membership.objects.values_list("role", flat=True)) == {choice.value for choice in Membership.Role}
    assert ApprovalRequest.objects.filter(state=State.REQUESTED, kind=ApprovalRequest.Kind.ATTACHMENT).exists()
    assert all(siret.is_valid(number) for number in Structure.objects.values_list("siret", flat=True))
    for row in Structure.objects.all():
        row.full_clean(validate_unique=False)
