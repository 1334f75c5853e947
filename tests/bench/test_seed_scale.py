"""`manage.py seed_scale` (bench/seeding.py): valid farm-country data, COPY on PostgreSQL, the same for a seed."""

import json
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from io import BytesIO, StringIO
from zoneinfo import ZoneInfo

import phonenumbers
import pikepdf
import psycopg
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail.backends.filebased import EmailBackend
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count, F, Q, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from schwifty import IBAN
from stdnum.fr import siret

from accounts.models import User
from approvals.models import ApprovalRequest
from bench import mailbox, seeding
from bench.run import totp
from chorus.uploads import clean_upload
from instruction.models import GROUP
from refunds import workflows
from refunds.models import Campaign, PaymentBatch, Rate, RefundEvent, RefundFlag, RefundLine, RefundRequest
from structures.departements import DEPARTEMENTS
from structures.models import BankAccount, Membership, Structure
from structures.validators import (
    clean_bic,
    clean_french_postal_code,
    clean_iban,
    clean_pacage,
    clean_siret,
    clean_vat_number,
)
from tests.factories import DURING_THE_2023_CAMPAIGN, UserFactory

STRUCTURES, USERS, PENDING, DROME = 300, 800, 60, 150
MANAGER, MEMBER = "bench.gestionnaire@exemple.fr", "bench.utilisateur@exemple.fr"
INSTRUCTOR = "bench.instructeur@exemple.fr"
State = ApprovalRequest.State
Status = RefundRequest.Status
# In the order the command writes them.
TABLES = [
    User, Structure, Membership, BankAccount, ApprovalRequest, RefundLine, RefundRequest, PaymentBatch, RefundEvent,
    RefundFlag,
]  # fmt: skip
# The seed files for the campaigns open on the day it runs: these tests run on a day of the 2023 campaign, and one
# of them on a day when none is open.
AFTER_THE_2023_CAMPAIGN = datetime(2027, 3, 1, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture(autouse=True)
def _campaign_2023_open():
    with time_machine.travel(DURING_THE_2023_CAMPAIGN, tick=True):
        yield


def seed(tmp_path, **sizes) -> dict:
    """Runs the real command; returns its manifest."""
    manifest, output = tmp_path / "seed.json", StringIO()
    call_command("seed_scale", seed=7, manifest=manifest, stdout=output, **sizes)
    assert output.getvalue().splitlines()[-1].startswith("Seeded in ")
    return json.loads(manifest.read_text())


@pytest.fixture
def seeded(db, private_media, tmp_path):
    """A small farm country; returns the manifest."""
    return seed(tmp_path, structures=STRUCTURES, users=USERS, pending=PENDING, departement_requests=DROME)


def test_it_fills_each_table_and_reports_the_counts(seeded):
    counts = {model._meta.db_table: model.objects.count() for model in TABLES}
    assert counts == seeded["counts"]
    # The users asked for, and an instructor a département.
    assert counts["accounts_user"] == USERS + len(DEPARTEMENTS) and counts["structures_structure"] == STRUCTURES
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

        # The mailbox waits until a file is half a second old, on the clock the file system writes (not the test's).
        with time_machine.travel(time_machine.escape_hatch.time.time(), tick=True):
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
        "counts", "seconds", "instructor", "totp_key", "departement", "departement_requests", "departement_sent",
        "refund_request_ids", "refund_draft_id", "import_draft_id", "payable_request_ids",
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
    assert user.pk == USERS + len(DEPARTEMENTS) + 1
    assert RefundEvent.objects.create(request_id=1, kind=RefundEvent.Kind.CREATED).pk == RefundEvent.objects.count()


def rows_of(seed: int, now) -> dict:
    plan = seeding.Plan(100, 300, 20, 50, seed=seed, now=now, campaigns=seeding.campaign_windows(now))
    rows = seeding.Rows(plan, "hash", seeding.StoredRib("rib.pdf", "application/pdf"), "v")
    tables = ("users", "structures", "bank_accounts", "refund_lines", "refund_requests", "refund_events")
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
    Group.objects.get_or_create(name=GROUP)  # as instruction's migration made it, should a flush have taken it
    with CaptureQueriesContext(connection) as queries:
        manifest = seed(tmp_path, structures=60, users=200, pending=10)

    tables = [model._meta.db_table for model in TABLES]
    assert [statement.split()[1].strip('"') for statement in copies] == tables
    assert all(statement.endswith("FROM STDIN") for statement in copies)
    inserts = {
        query["sql"].split()[2].strip('"') for query in queries.captured_queries if query["sql"].startswith("INSERT")
    }
    # Only the instructors' handful of rows go through the ORM: their group, départements and application.
    assert inserts == {"accounts_user_groups", "instruction_instructor", "instruction_instructordepartement",
                       "otp_totp_totpdevice"}  # fmt: skip
    assert manifest["counts"] == {model._meta.db_table: model.objects.count() for model in TABLES}
    # The models' enums went in as their values, and the rows hold under every constraint.
    assert set(Membership.objects.values_list("role", flat=True)) == {choice.value for choice in Membership.Role}
    assert ApprovalRequest.objects.filter(state=State.REQUESTED, kind=ApprovalRequest.Kind.ATTACHMENT).exists()
    assert all(siret.is_valid(number) for number in Structure.objects.values_list("siret", flat=True))
    for row in Structure.objects.all():
        row.full_clean(validate_unique=False)


# Refund requests.


def test_every_farm_files_once_per_campaign_open_since_it_registered(seeded):
    campaigns = {campaign.year: campaign for campaign in Campaign.objects.all()}
    years = sorted(campaigns)[-seeding.REFUND_CAMPAIGNS :]
    requests = RefundRequest.objects.select_related("structure")
    assert set(requests.values_list("year", flat=True)) == set(years)
    assert not requests.filter(structure__is_agricultural_centre=True).exists()
    for request in requests.exclude(status=Status.DRAFT):
        campaign = campaigns[request.year]
        filed = timezone.localdate(request.filed_at)
        assert campaign.opens_on <= filed <= campaign.closes_on, request.number
        assert request.structure.created_at <= request.created_at <= request.filed_at, request.number
        assert request.number == f"TIC-{request.year}-{request.pk:06d}"
        # Frozen as sending freezes them: the structure's category and PACAGE, the département of its postal code.
        assert (request.beneficiary_category, request.pacage) == (
            request.structure.beneficiary_category,
            request.structure.pacage,
        )
        assert request.departement == workflows.departement_of(request.structure)
        assert request.bank_holder == request.structure.display_name
        clean_bic(request.bank_bic, clean_iban(request.bank_iban))
    # Nearly four requests a farm: most farms registered before the oldest campaign opened.
    farms = Structure.objects.filter(refund_requests__isnull=False).distinct().count()
    assert 3.5 < requests.count() / farms <= seeding.REFUND_CAMPAIGNS


def test_most_farms_predate_the_oldest_campaign_and_no_one_acts_before_joining(seeded):
    oldest = Campaign.objects.filter(opens_on__lte=timezone.localdate()).order_by("-year")[seeding.REFUND_CAMPAIGNS - 1]
    farms = Structure.objects.filter(is_agricultural_centre=False)
    assert farms.filter(created_at__date__lt=oldest.opens_on).count() > 0.85 * farms.count()
    assert RefundRequest.objects.filter(year=oldest.year).count() > 0.85 * farms.count()
    # The instructors who took, decided and paid requests of every campaign were there before them.
    assert RefundEvent.objects.exclude(actor=None).exists()
    assert not RefundEvent.objects.filter(at__lt=F("actor__date_joined")).exists()
    assert not PaymentBatch.objects.filter(created_at__lt=F("created_by__date_joined")).exists()
    assert not RefundRequest.objects.filter(created_at__lt=F("created_by__date_joined")).exists()


def test_older_campaigns_are_mostly_paid_and_the_current_one_is_in_every_state(seeded):
    """Outside the Drôme, whose paid requests are partly turned into accepted ones for the payment batches to build."""
    current = max(RefundRequest.objects.values_list("year", flat=True))
    elsewhere = RefundRequest.objects.exclude(departement=seeding.BENCH_DEPARTEMENT)
    older = Counter(elsewhere.exclude(year=current).values_list("status", flat=True))
    assert older[Status.PAID] > 0.7 * sum(older.values()) and older[Status.REJECTED] > 0
    now = Counter(RefundRequest.objects.filter(year=current).values_list("status", flat=True))
    assert set(now) == set(Status.values)
    assert now[Status.PAID] < 0.4 * sum(now.values())


def test_with_no_campaign_open_the_seed_drafts_nothing_and_the_manifest_says_so(db, private_media, tmp_path):
    """Until staff add the next campaign, nothing can be sent: no draft to send, none to import into (the bench
    skips those two steps), and every campaign is past its filing."""
    with time_machine.travel(AFTER_THE_2023_CAMPAIGN, tick=True):
        manifest = seed(tmp_path, structures=STRUCTURES, users=USERS, pending=PENDING, departement_requests=DROME)

    assert (manifest["refund_draft_id"], manifest["import_draft_id"]) == (None, None)
    assert not Campaign.objects.open_on(AFTER_THE_2023_CAMPAIGN.date()).exists()
    assert not RefundRequest.objects.filter(structure_id=manifest["structure_id"], status=Status.DRAFT).exists()
    assert RefundRequest.objects.filter(structure_id=manifest["structure_id"]).count() == seeding.REFUND_CAMPAIGNS
    assert RefundRequest.objects.filter(status=Status.PAID).exists()


def test_amounts_are_the_portals_to_the_cent_and_totals_the_sum_of_the_lines(seeded):
    rates = {(rate.year, rate.product_id): rate.amount for rate in Rate.objects.all()}
    lines = RefundLine.objects.select_related("product", "request")
    for line in lines:
        assert line.rate == rates[line.request.year, line.product_id]
        assert line.amount == line.product.amount(line.quantity, line.rate)
        assert line.invoice_date.year == line.request.year
    for request in RefundRequest.objects.annotate(
        lines_asked=Sum("lines__amount"), lines_granted=Sum("lines__granted_amount"), line_count=Count("lines")
    ):
        assert request.total_asked == (request.lines_asked or 0)
        if request.status in (Status.ACCEPTED, Status.IN_PAYMENT, Status.PAID, Status.REJECTED):
            assert request.total_granted == request.lines_granted
        elif request.status == Status.PARTLY_ACCEPTED:
            assert request.total_granted == request.lines_granted < request.total_asked
        else:
            assert request.total_granted is None
    assert 8 < lines.count() / RefundRequest.objects.count() < 12
    assert not RefundLine.objects.filter(request__status__in=[Status.FILED, Status.PAID], invoice="").exists()


def test_events_tell_each_request_in_order(seeded):
    steps = {
        Status.DRAFT: ["created"],
        Status.FILED: ["created", "filed"],
        Status.IN_REVIEW: ["created", "filed", "taken"],
        Status.INFORMATION_REQUESTED: ["created", "filed", "taken", "information_requested"],
        Status.REJECTED: ["created", "filed", "taken", "rejected"],
        Status.PARTLY_ACCEPTED: ["created", "filed", "taken", "partly_accepted"],
    }
    for request in RefundRequest.objects.prefetch_related("events"):
        kinds = [event.kind for event in request.events.all()]  # ordered by date
        if request.status in steps:
            assert kinds == steps[request.status], request.pk
        else:
            decided = kinds[:4]
            assert decided[:3] == ["created", "filed", "taken"] and decided[3] in ("accepted", "partly_accepted")
            assert kinds[4:] == (["in_payment"] if request.status == Status.IN_PAYMENT else
                                 ["in_payment", "paid"] if request.status == Status.PAID else [])  # fmt: skip
        moments = [event.at for event in request.events.all()]
        assert moments == sorted(moments) and moments[-1] <= timezone.now()


def test_payment_batches_add_up_and_each_structure_is_flagged_once_on_its_first_request(seeded):
    for batch in PaymentBatch.objects.annotate(total=Sum("requests__total_granted"), count=Count("requests")):
        assert (batch.transfer_count, batch.control_sum) == (batch.count, batch.total)
        statuses = set(batch.requests.values_list("status", flat=True))
        assert statuses == {Status.PAID if batch.status == PaymentBatch.Status.PAID else Status.IN_PAYMENT}
    assert not RefundRequest.objects.filter(status__in=[Status.IN_PAYMENT, Status.PAID], payment_batch=None).exists()
    sent = RefundRequest.objects.exclude(status=Status.DRAFT)
    flagged = RefundFlag.objects.filter(kind=RefundFlag.Kind.FIRST_REQUEST)
    assert flagged.count() == sent.values("structure").distinct().count()
    for flag in flagged.select_related("request"):
        assert not sent.filter(structure=flag.request.structure_id, filed_at__lt=flag.request.filed_at).exists()


def test_the_drome_holds_the_instructors_queue_and_the_requests_to_pay(seeded):
    drome = RefundRequest.objects.filter(departement=seeding.BENCH_DEPARTEMENT)
    assert drome.count() == seeded["departement_sent"]
    assert 0.8 * DROME < seeded["departement_requests"] < 1.25 * DROME
    payable = drome.filter(pk__in=seeded["payable_request_ids"], status__in=RefundRequest.PAYABLE, payment_batch=None)
    assert payable.count() == len(seeded["payable_request_ids"]) > 0


def test_the_bench_farm_has_a_50_line_draft_ready_to_send_and_the_member_an_empty_draft(seeded, outbox):
    manager = User.objects.get(email=MANAGER)
    draft = RefundRequest.objects.get(pk=seeded["refund_draft_id"])
    assert draft.structure_id == seeded["structure_id"] and draft.lines.count() == seeding.BENCH_LINES
    assert workflows.problems(draft) == []
    for pk in seeded["refund_request_ids"]:
        sent = RefundRequest.objects.get(pk=pk)
        assert sent.structure_id == seeded["structure_id"] and sent.lines.count() == seeding.BENCH_LINES
    target = RefundRequest.objects.visible_to(User.objects.get(email=MEMBER)).get(pk=seeded["import_draft_id"])
    assert target.is_editable and not target.lines.exists()

    sent = workflows.send(draft.pk, by=manager)

    assert sent.status == Status.FILED and sent.number == f"TIC-{draft.year}-{draft.pk:06d}"
    assert sent.departement == seeding.BENCH_DEPARTEMENT


def test_the_instructor_signs_in_with_the_application_code_and_sees_the_drome(seeded, client):
    """As the benchmark signs them in: the password, then the code of the application whose secret it knows."""
    instructor = User.objects.get(email=INSTRUCTOR)
    assert instructor.is_staff and instructor.groups.filter(name=GROUP).exists()
    response = client.post(reverse("accounts:login"), {"username": INSTRUCTOR, "password": seeded["password"]})
    assert response.status_code == 302 and response.url.startswith(reverse("twofactor:verify"))
    form = client.get(response.url)

    device = form.context["device"].persistent_id
    response = client.post(response.url, {"code": totp(seeded["totp_key"]), "device": device, "next": "/"})

    assert response.status_code == 302 and response.url == reverse("home")
    queue = client.get(reverse("instruction:queue"), {"status": "tous"})
    assert queue.status_code == 200
    assert queue.context["page"].paginator.count == seeded["departement_sent"]
