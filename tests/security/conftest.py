"""One world for the whole authorisation matrix, built once per module.

About 1,700 cases: building ten accounts (Argon2) and signing one in per
case would take minutes. So the world, and one session per persona, are
created inside a module-wide transaction, as Django's `setUpTestData` does:
each case runs in a savepoint of it (pytest-django's `db`) and its changes are
rolled back; the world itself is rolled back when the module ends.
"""

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from dsfr.models import DsfrConfig
from post_office.models import STATUS, Attachment, Email, EmailTemplate, Log

from accounts.models import User
from approvals.models import ApprovalRequest
from audit.models import Action, AuditEvent
from instruction import workflows
from instruction.models import Instructor
from refunds.models import Campaign, PaymentBatch, Product, Rate, RefundLine, RefundRequest
from structures.models import BankAccount, Membership, Structure
from tests import factories
from tests.factories import (
    ApprovalRequestFactory,
    BankAccountFactory,
    MembershipFactory,
    PendingUserFactory,
    RefundLineFactory,
    RefundRequestFactory,
    StructureFactory,
    UserFactory,
    make_instructor,
    make_sent_request,
)
from tests.signing_in import signed_in_session

# A second valid IBAN (La Banque Postale), for farm A's non-default account.
SPARE_IBAN = "FR1420041010050500013M02606"


@dataclass
class World:
    farm: Structure  # farm A
    other_farm: Structure  # farm B
    users: dict[str, User]  # persona -> user
    attached_membership: Membership  # the simple user of A
    second_membership: Membership  # the second manager of A
    never_activated: Membership  # a user of A who never activated
    pending: ApprovalRequest  # the requester's pending request on A
    account: BankAccount  # A's second, non-default account: the one the bank-detail URLs aim at
    default_account: BankAccount
    refund_request: RefundRequest  # A's request for 2022, sent, with a line and its invoice
    refund_draft: RefundRequest  # A's draft for 2023, ready to send: a line with its invoice, the statement ticked
    draft_line: RefundLine
    # A's requests as the instruction finds them (A is in the Drôme, 26): « Déposée » is `refund_request`;
    sent_line: RefundLine  # its line, with the invoice
    sent_line_record: object  # its line's history row as created (its pk is the history id), naming the invoice's file
    reviewed_request: RefundRequest  # 2021, « En instruction », one line
    accepted_request: RefundRequest  # 2020, « Acceptée », not yet in payment
    batch: PaymentBatch  # in payment, with A's 2019 request and its SEPA file
    admin_objects: dict[str, object] = field(default_factory=dict)  # "app_label.model_name" -> one object
    sessions: dict[str, str] = field(default_factory=dict)  # persona -> session key, signed in

    def browser(self, persona: str) -> Client:
        """A browser of the persona's own; a server error is answered (500), not raised, so the case says which."""
        client = Client(raise_request_exception=False)
        if persona != "anonymous":
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[persona]
        return client


def _build() -> World:
    farm = StructureFactory(
        name="EARL du Champ A",
        address="1 route de Crest",
        postal_code="26400",
        city="Crest",
        beneficiary_category="farming_company",
        pacage="026123456",
    )
    other_farm = StructureFactory(name="GAEC du Champ B")
    manager = MembershipFactory(structure=farm, role=Membership.Role.MAIN_MANAGER, user__first_name="Marie").user
    second_membership = MembershipFactory(structure=farm, role=Membership.Role.MANAGER, user__first_name="Gaston")
    attached_membership = MembershipFactory(structure=farm, role=Membership.Role.USER, user__first_name="Ulysse")
    never_activated = MembershipFactory(structure=farm, user=PendingUserFactory(first_name="Nina"))
    other_manager = MembershipFactory(
        structure=other_farm, role=Membership.Role.MAIN_MANAGER, user__first_name="Bertrand"
    ).user
    requester = UserFactory(first_name="Romane")
    pending = ApprovalRequestFactory(structure=farm, requester=requester, comment="Je suis salariée de l'EARL.")
    default_account = BankAccountFactory(structure=farm, label="Compte courant", created_by=manager)
    account = BankAccountFactory(
        structure=farm, label="Compte épargne", iban=SPARE_IBAN, bic="PSSTFRPPXXX", is_default=False
    )
    BankAccountFactory(structure=other_farm, label="Compte de B")
    ApprovalRequestFactory(structure=other_farm, requester=requester)
    factories.refund_reference_data()
    refund_request = make_sent_request(farm, year=2022, lines=1, filed_by=manager, created_by=manager)
    instructor = make_instructor("26", first_name="Irène")
    reviewed_request = make_sent_request(
        farm, year=2021, lines=1, filed_by=manager, status=RefundRequest.Status.IN_REVIEW, assigned_to=instructor
    )
    accepted_request = make_sent_request(
        farm, year=2020, lines=1, filed_by=manager, status=RefundRequest.Status.ACCEPTED, total_granted="149.60"
    )
    accepted_request.lines.update(granted_amount="149.60")
    paid_request = make_sent_request(
        farm, year=2019, lines=1, filed_by=manager, status=RefundRequest.Status.ACCEPTED, total_granted="149.60"
    )
    batch = workflows.put_in_payment([paid_request.pk], by=instructor, departements=["26"])
    # The draft's campaign is open whatever the day the matrix runs.
    Campaign.objects.filter(year=2023).update(closes_on=timezone.localdate() + timedelta(days=365))
    refund_draft = RefundRequestFactory(
        structure=farm, year=2023, bank_account=default_account, created_by=manager, not_in_difficulty=True
    )
    draft_line = RefundLineFactory(request=refund_draft, invoice_number="FA-2023-0042")

    support = UserFactory(first_name="Sonia", is_staff=True)
    registered = [ContentType.objects.get_for_model(model) for model in admin.site._registry]
    support.user_permissions.set(Permission.objects.filter(content_type__in=registered, codename__startswith="view_"))
    support_group = UserFactory(first_name="Denise", is_staff=True)
    support_group.groups.add(factories.support_group())  # the group accounts/migrations/0003 creates

    users = {
        "outsider": UserFactory(first_name="Olivier"),
        "requester": requester,
        "attached": attached_membership.user,
        "manager": manager,
        "manager_unconfirmed": manager,  # the same account, without a recent password
        "second_manager": second_membership.user,
        "other_manager": other_manager,
        "staff": UserFactory(first_name="Sam", is_staff=True),
        "support": support,
        "support_group": support_group,
        "superuser": UserFactory(first_name="Super", is_staff=True, is_superuser=True),
        "instructor": instructor,  # instructs the Drôme (26), farm A's département
        "other_instructor": make_instructor("35", first_name="Odile"),  # Ille-et-Vilaine only
    }

    email = Email.objects.create(
        to=["destinataire@exemple.fr"],
        from_email="portail@exemple.fr",
        subject="Bonjour",
        message="Bonjour",
        html_message="<p>Bonjour</p>",
        status=STATUS.sent,
    )
    attachment = Attachment(name="piece.txt")
    attachment.file.save("piece.txt", ContentFile(b"piece"), save=True)
    attachment.emails.add(email)
    access = {"user_agent": "test", "ip_address": "192.0.2.1", "username": "x@exemple.fr", "http_accept": "*/*"}
    admin_objects = {
        "auth.group": Group.objects.create(name="Comptabilité"),
        "dsfr.dsfrconfig": DsfrConfig.objects.first() or DsfrConfig.objects.create(),
        # A failed sign-in of the simple user of A: « Débloquer la connexion » has something to lift.
        "axes.accessattempt": AccessAttempt.objects.create(
            **(access | {"username": attached_membership.user.email}),
            path_info="/compte/connexion/",
            get_data="",
            post_data="",
            failures_since_start=1,
        ),
        "axes.accesslog": AccessLog.objects.create(**access, path_info="/compte/connexion/"),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**access, path_info="/compte/connexion/"),
        "post_office.email": email,
        "post_office.log": Log.objects.create(email=email, status=STATUS.sent, message=""),
        "post_office.emailtemplate": EmailTemplate.objects.create(name="modele", subject="Objet", content="Texte"),
        "post_office.attachment": attachment,
        "structures.structure": farm,
        "structures.membership": attached_membership,
        "structures.bankaccount": account,
        "approvals.approvalrequest": pending,
        "accounts.user": attached_membership.user,
        "audit.auditevent": AuditEvent.objects.create(action=Action.SIGN_IN, actor=manager, actor_label=manager.email),
        # A product no rate nor line names yet: a superuser may delete it (the shipped ones are protected).
        "refunds.product": Product.objects.create(
            code="essai",
            name="Produit d'essai",
            invoice_unit="litres",
            rate_unit="€/hl",
            invoice_units_per_rate_unit=100,
        ),
        "refunds.rate": Rate.objects.get(year=2023, product__code="gnr"),
        "refunds.campaign": Campaign.objects.get(year=2022),  # with GNR's earlier closing
        "refunds.refundrequest": refund_request,
        "instruction.instructor": Instructor.objects.get(user=users["other_instructor"]),
    }
    return World(
        farm=farm,
        other_farm=other_farm,
        users=users,
        attached_membership=attached_membership,
        second_membership=second_membership,
        never_activated=never_activated,
        pending=pending,
        account=account,
        default_account=default_account,
        refund_request=refund_request,
        refund_draft=refund_draft,
        draft_line=draft_line,
        sent_line=refund_request.lines.get(),
        sent_line_record=refund_request.lines.get().history.earliest(),
        reviewed_request=reviewed_request,
        accepted_request=accepted_request,
        batch=batch,
        admin_objects=admin_objects,
        sessions={
            persona: signed_in_session(user, fresh=persona != "manager_unconfirmed") for persona, user in users.items()
        },
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("media")
    rib_field = BankAccount._meta.get_field("rib")
    invoice_field = RefundLine._meta.get_field("invoice")
    payment_field = PaymentBatch._meta.get_field("file")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media),
        pytest.MonkeyPatch.context() as patch,
        transaction.atomic(),
    ):
        # RIB and invoice files land in a throw-away folder (the field resolved its storage when the model loaded).
        patch.setattr(rib_field, "storage", FileSystemStorage(location=media / "rib"))
        patch.setattr(invoice_field, "storage", FileSystemStorage(location=media / "invoices"))
        patch.setattr(payment_field, "storage", FileSystemStorage(location=media / "payments"))
        yield _build()
        transaction.set_rollback(True)
