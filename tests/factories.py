import importlib
import random
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import factory
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone
from stdnum import luhn

from accounts.models import User
from approvals.models import ApprovalRequest
from instruction.models import GROUP as INSTRUCTORS
from instruction.models import Instructor
from refunds.models import Product, RefundEvent, RefundLine, RefundRequest
from sirene.models import Diffusion, Establishment, LegalUnit, Stock
from structures.departements import of_postal_code
from structures.models import BankAccount, Membership, Structure

PASSWORD = "Blé-Moisson-42x"


def make_siret(rng: random.Random | None = None) -> str:
    """A SIRET that python-stdnum accepts: valid SIREN key, then valid SIRET key."""
    rng = rng or random.Random()
    siren = "".join(rng.choice("0123456789") for _ in range(8))
    siren = siren.replace("356", "357")  # keep clear of La Poste's special rule
    siren += luhn.calc_check_digit(siren)
    nic = "".join(rng.choice("0123456789") for _ in range(4))
    return siren + nic + luhn.calc_check_digit(siren + nic)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"agri{n}@exemple.fr")
    first_name = "Camille"
    last_name = "Durand"
    is_active = True
    activated_at = factory.LazyFunction(timezone.now)
    terms_accepted_at = factory.LazyFunction(timezone.now)
    terms_version = "2026-11"

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or PASSWORD)
        if create:
            self.save(update_fields=["password"])


class PendingUserFactory(UserFactory):
    """Signed up, never activated: no usable password yet."""

    is_active = False
    activated_at = None
    activation_sent_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_unusable_password()
        if create:
            self.save(update_fields=["password"])


class StructureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Structure

    siret = factory.LazyFunction(make_siret)
    name = factory.Sequence(lambda n: f"EARL du Champ {n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    structure = factory.SubFactory(StructureFactory)
    role = Membership.Role.USER


class ApprovalRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ApprovalRequest

    requester = factory.SubFactory(PendingUserFactory)
    structure = factory.SubFactory(StructureFactory)


class BankAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankAccount

    structure = factory.SubFactory(StructureFactory)
    label = factory.Sequence(lambda n: f"Compte {n}")
    iban = "FR7630006000011234567890189"
    bic = "AGRIFRPPXXX"
    rib = factory.django.FileField(data=b"%PDF-1.4\n%%EOF\n", filename="rib.pdf")
    rib_filename = "rib.pdf"
    rib_content_type = "application/pdf"
    is_default = True


# « Modifier une structure », filled in as a farm's manager would.
STRUCTURE_FORM = {
    "name": "EARL des Trois Chênes",
    "rcs_number": "",
    "vat_number": "",
    "structure_type": "company",
    "email": "contact@troischenes.fr",
    "tax_regime": "vat_debits",
    "address": "12 route de Crest",
    "address_complement_1": "",
    "address_complement_2": "",
    "postal_code": "26400",
    "city": "Aouste-sur-Sye",
    "country": "FR",
    "phone": "04 75 12 34 56",
    "procedure_category": "",
    "beneficiary_category": "farming_company",
    "pacage": "026123456",
}


def activated_accounts(count: int, **fields) -> list[User]:
    """Activated accounts, inserted at once (their password is unusable: no Argon2 hash per row)."""
    fields = {"is_active": True, "activated_at": timezone.now(), **fields}
    return User.objects.bulk_create(PendingUserFactory.build_batch(count, **fields))


def support_group() -> Group:
    """The « Support » group that accounts/migrations/0003 creates (with what refunds/migrations/0003 and
    sirene/migrations/0002 add).

    A live-server or threaded test empties the database when it ends, the data
    migration's group with it; under pytest-xdist such a test may run earlier in
    the same worker, so the group is made again, by the migration's own function.
    """
    if not Group.objects.filter(name="Support").exists():
        editor = SimpleNamespace(connection=connection)
        importlib.import_module("accounts.migrations.0003_support_group").create_group(apps, editor)
        importlib.import_module("refunds.migrations.0003_support_reads_refunds").grant(apps, editor)
        importlib.import_module("sirene.migrations.0002_support_reads_imports").grant(apps, editor)
    return Group.objects.get(name="Support")


def refund_reference_data() -> None:
    """The products, rates and campaigns that refunds/migrations/0002 ships.

    A live-server or threaded test empties the database when it ends, the shipped rows with it (as for
    `support_group`), so they are made again, by the migration's own function, when they are missing.
    """
    if not Product.objects.exists():
        migration = importlib.import_module("refunds.migrations.0002_reference_data")
        migration.ship(apps, SimpleNamespace(connection=connection))


# A morning of the 2023 campaign, the latest that migration ships (it closes on 31/12/2026).
DURING_THE_2023_CAMPAIGN = datetime(2026, 12, 7, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))


class FarmFactory(StructureFactory):
    """A farm whose registration is complete: category, PACAGE, and (with `bank_account`) bank details."""

    beneficiary_category = Structure.BeneficiaryCategory.INDIVIDUAL_FARMER
    pacage = factory.Sequence(lambda n: f"{n % 1_000_000_000:09d}")
    postal_code = "35000"


class RefundRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RefundRequest

    structure = factory.SubFactory(FarmFactory)
    year = 2023


class RefundLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RefundLine

    request = factory.SubFactory(RefundRequestFactory)
    invoice_number = factory.Sequence(lambda n: f"F-{n:05d}")
    invoice_date = factory.LazyAttribute(lambda line: date(line.request.year, 3, 15))
    supplier = "Coopérative du Val"
    product = factory.LazyFunction(lambda: Product.objects.get(code="gnr"))
    quantity = Decimal("1000.00")
    rate = Decimal("14.96")
    amount = Decimal("149.60")
    invoice = factory.django.FileField(data=b"%PDF-1.4\n%%EOF\n", filename="facture.pdf")
    invoice_filename = "facture.pdf"
    invoice_content_type = "application/pdf"


def instructors_group() -> Group:
    """The « Instructeurs » group instruction/migrations/0002 creates (made again after a test that emptied it)."""
    group, _ = Group.objects.get_or_create(name=INSTRUCTORS)
    return group


def make_instructor(*departements: str, **user_fields) -> User:
    """A staff member of the « Instructeurs » group who instructs these départements."""
    user = UserFactory(is_staff=True, **user_fields)
    user.groups.add(instructors_group())
    instructor = Instructor.objects.create(user=user)
    for code in departements:
        instructor.departements.create(code=code)
    return user


def make_sent_request(structure=None, *, year: int = 2023, lines: int = 2, filed_by=None, **fields) -> RefundRequest:
    """A request as `refunds.workflows.send` leaves it: numbered, « Déposée », frozen bank details, its lines
    (1,000 l of GNR each, 149,60 €) and the FILED event; the département is its structure's."""
    structure = structure or FarmFactory()
    account = structure.bank_accounts.first() or BankAccountFactory(structure=structure)
    frozen = {
        "status": RefundRequest.Status.FILED,
        "bank_account": account,
        "bank_label": account.label,
        "bank_holder": structure.display_name,
        "bank_iban": account.iban,
        "bank_bic": account.bic,
        "beneficiary_category": structure.beneficiary_category,
        "pacage": structure.pacage,
        "not_in_difficulty": True,
        "filed_by": filed_by,
        "departement": of_postal_code(structure.postal_code),
        # A sent request has a number (a constraint): a provisional one, then its own below.
        "number": f"TIC-{year}-S{structure.pk:06d}",
    }
    request = RefundRequestFactory(structure=structure, year=year, **(frozen | fields))
    request.number = f"TIC-{year}-{request.pk:06d}"
    for _ in range(lines):
        RefundLineFactory(request=request)
    request.total_asked = sum(line.amount for line in request.lines.all())
    # Filed once its lines are written: they are what was filed, not lines added since (their history says so).
    request.filed_at = fields.get("filed_at") or timezone.now()
    request.save()
    RefundEvent.objects.create(request=request, kind=RefundEvent.Kind.FILED, actor=filed_by)
    return request


def list_in_sirene(siret: str, denomination: str, *, stock_date=date(2026, 11, 1), **establishment) -> Stock:
    """A SIRENE stock in service (the current one, or a new one of `stock_date`) that lists `siret` as a company named
    `denomination`, open and public, at the address given in INSEE's columns (`street_name`, `postal_code`…)."""
    stock, _ = Stock.objects.get_or_create(state=Stock.State.CURRENT, defaults={"stock_date": stock_date})
    Establishment.objects.create(
        stock=stock,
        siret=siret,
        diffusion=Diffusion.PUBLIC,
        state=Establishment.State.ACTIVE,
        head_office=True,
        **establishment,
    )
    LegalUnit.objects.create(
        stock=stock,
        siren=siret[:9],
        diffusion=Diffusion.PUBLIC,
        state=LegalUnit.State.ACTIVE,
        denomination=denomination,
    )
    return stock
