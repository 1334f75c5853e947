import json
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from approvals.models import ApprovalRequest
from bench import seeding
from instruction.models import GROUP, Instructor, InstructorDepartement
from refunds.models import PaymentBatch, RefundEvent, RefundFlag, RefundLine, RefundRequest
from structures.models import BankAccount, Membership, Structure


class Command(BaseCommand):
    help = (
        "Fills an EMPTY, throwaway database with farm-country data for benchmarks: users, structures, memberships, "
        "bank details and approval requests, valid under every model constraint (PostgreSQL: COPY; elsewhere: "
        "batched INSERTs). Refuses a database that already holds users or structures. "
        "Every activated user has the password --password (one Argon2 hash, computed once); about 5%% of the "
        "users never activated. All addresses are @exemple.fr. Every bank account points at one placeholder PDF "
        f"saved once in the RIB storage ({seeding.RIB_PLACEHOLDER}). The audit trail and the history tables "
        "(django-simple-history) are left empty. "
        f"Refund requests: one per farm for each of the {seeding.REFUND_CAMPAIGNS} latest campaigns open since it "
        "registered (most farms registered in the half-year before the oldest opened), about ten lines each, "
        "amounts at the portal's rates, in the statuses of their campaign, with "
        "their events, payment batches and « Première demande » flags; every invoice is one placeholder PDF "
        f"({seeding.INVOICE_PLACEHOLDER}). "
        f"Benchmark personas: {seeding.BENCH_MANAGER}, main manager of « {seeding.BENCH_STRUCTURE} » with exactly "
        f"--pending requests and 50-line refund requests (the current one a draft ready to send), "
        f"{seeding.BENCH_MEMBER}, a user of it with requests of their own and an empty draft to import into, and "
        f"{seeding.BENCH_INSTRUCTOR}, instructor of the Drôme ({seeding.BENCH_DEPARTEMENT}, about "
        "--departement-requests refund requests) who signs in with an authentication application whose secret "
        "the manifest gives. "
        "Deterministic for a given --seed (dates count back from the time of the run)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--structures", type=int, required=True, help="structures (France: about 390,000 farms)")
        parser.add_argument("--users", type=int, required=True, help="users (at least as many as structures)")
        parser.add_argument(
            "--pending", type=int, required=True, help=f"pending requests on « {seeding.BENCH_STRUCTURE} »"
        )
        parser.add_argument(
            "--other-pending",
            type=int,
            default=None,
            help="pending requests on the other structures (default: one for two structures)",
        )
        parser.add_argument(
            "--departement-requests",
            type=int,
            default=seeding.BENCH_DEPARTEMENT_REQUESTS,
            help=f"about this many refund requests in the Drôme ({seeding.BENCH_DEPARTEMENT}), the instructor's",
        )
        parser.add_argument("--password", default=seeding.DEFAULT_PASSWORD, help="every activated user's password")
        parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed gives the same data")
        parser.add_argument("--manifest", type=Path, help="write the personas, ids and counts to this JSON file")

    def handle(
        self,
        *args,
        structures,
        users,
        pending,
        other_pending,
        departement_requests,
        password,
        seed,
        manifest,
        **options,
    ):
        started = time.monotonic()
        if structures < 10 or users < 10 or pending < 0:
            raise CommandError("--structures and --users must be at least 10, --pending at least 0.")
        if other_pending is None:
            other_pending = structures // 2
        models = {
            "users": get_user_model(),
            "structures": Structure,
            "memberships": Membership,
            "bank_accounts": BankAccount,
            "approval_requests": ApprovalRequest,
            # The lines first: a request's totals are the sum of its rounded lines.
            "refund_lines": RefundLine,
            "refund_requests": RefundRequest,
            "payment_batches": PaymentBatch,
            "refund_events": RefundEvent,
            "refund_flags": RefundFlag,
        }
        held = {model._meta.db_table: model.objects.count() for model in models.values()}
        if any(held.values()):
            rows = ", ".join(f"{table} {count:,}" for table, count in held.items() if count)
            raise CommandError(
                f"The database is not empty ({rows}): seed_scale fills a new, migrated, throwaway database only."
            )

        now = timezone.now().replace(microsecond=0)
        try:
            plan = seeding.Plan(
                structures,
                users,
                pending,
                other_pending,
                seed,
                now=now,
                campaigns=seeding.campaign_windows(now),
                departement_requests=departement_requests,
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Planned in {time.monotonic() - started:.1f} s: {len(plan.memberships):,} memberships, "
            f"{len(plan.requests):,} requests."
        )
        rib = seeding.store_placeholder(BankAccount._meta.get_field("rib").storage)
        invoice = seeding.store_placeholder(RefundLine._meta.get_field("invoice").storage, seeding.INVOICE_PLACEHOLDER)
        rows = seeding.Rows(plan, make_password(password), rib, settings.TERMS_VERSION, invoice)

        counts = {}
        with transaction.atomic():
            for key, model in models.items():
                table = model._meta.db_table
                began = time.monotonic()
                counts[table] = seeding.write_table(
                    model,
                    seeding.COLUMNS[key],
                    getattr(rows, key)(),
                    progress=lambda count, table=table: self.stdout.write(f"  {table}: {count:,} rows…"),
                )
                self.stdout.write(f"{table}: {counts[table]:,} rows in {time.monotonic() - began:.1f} s")
            self._instructors(rows)
            began = time.monotonic()
            connection.check_constraints()  # the foreign keys, deferred until now
            with connection.cursor() as cursor:
                for statement in connection.ops.sequence_reset_sql(no_style(), list(models.values())):
                    cursor.execute(statement)
            self.stdout.write(f"Foreign keys checked and sequences reset in {time.monotonic() - began:.1f} s")
        if connection.vendor == "postgresql":
            began = time.monotonic()
            with connection.cursor() as cursor:
                for table in counts:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
            self.stdout.write(f"Analysed in {time.monotonic() - began:.1f} s")

        seconds = round(time.monotonic() - started, 1)
        if manifest:
            newest_first = sorted(plan.bench_pending, key=lambda index: plan.requests[index][3])
            sample = seeding.seeded_random("manifest", seed).sample(rows.sirets, min(1000, len(rows.sirets)))
            manifest.write_text(
                json.dumps(
                    {
                        "password": password,
                        "manager": seeding.BENCH_MANAGER,
                        "member": seeding.BENCH_MEMBER,
                        "structure_id": 1,
                        "bank_account_ids": rows.bank_account_ids,
                        "pending_request_ids": [index + 1 for index in newest_first[:200]],
                        "sirets": sample,
                        **self._refund_manifest(rows),
                        "counts": counts,
                        "seconds": seconds,
                    },
                    indent=2,
                    ensure_ascii=False,
                )
            )
        self.stdout.write(
            f"Seeded in {seconds} s: " + ", ".join(f"{table} {count:,}" for table, count in counts.items())
        )

    def _instructors(self, rows: seeding.Rows) -> None:
        """Each département's instructor (seeded among the users): the group, the département; the Drôme's has an
        authentication application whose secret the benchmark knows."""
        # Made by instruction's data migration; a database flushed since (a transactional test's) has lost it.
        group, _ = Group.objects.get_or_create(name=GROUP)
        pks = {code: pk for code, (pk, *_) in rows.instructors.items()}
        group.user_set.add(*pks.values())
        Instructor.objects.bulk_create([Instructor(user_id=pk) for pk in pks.values()])
        by_user = dict(Instructor.objects.values_list("user_id", "pk"))
        InstructorDepartement.objects.bulk_create(
            [InstructorDepartement(instructor_id=by_user[pk], code=code) for code, pk in pks.items()]
        )
        TOTPDevice.objects.create(
            user_id=rows.instructor_pk, name="Téléphone", key=seeding.BENCH_TOTP_KEY, confirmed=True
        )

    def _refund_manifest(self, rows: seeding.Rows) -> dict:
        refunds = rows.refund_plan()
        ours = [
            index
            for index in range(len(refunds.structure))
            if rows.structure_facts[refunds.structure[index]][3] == seeding.BENCH_DEPARTEMENT
        ]
        payable = [index + 1 for index in ours if refunds.status[index] in seeding.PAYABLE_INDICES]
        sent = [index + 1 for index in ours if seeding.STATUS_VALUES[refunds.status[index]] != "draft"]
        bench = [index + 1 for index in range(len(refunds.structure)) if refunds.structure[index] == 0]
        return {
            "instructor": seeding.BENCH_INSTRUCTOR,
            "totp_key": seeding.BENCH_TOTP_KEY,
            "departement": seeding.BENCH_DEPARTEMENT,
            "departement_requests": len(ours),
            "departement_sent": len(sent),
            "refund_request_ids": [pk for pk in bench if pk - 1 != refunds.bench_draft],
            "refund_draft_id": None if refunds.bench_draft is None else refunds.bench_draft + 1,
            "import_draft_id": None if refunds.import_draft is None else refunds.import_draft + 1,
            "payable_request_ids": payable[:1000],
        }
