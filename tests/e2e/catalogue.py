"""Every screen of the portal, who sees it, and how to bring it to its error state.

The accessibility sweep (tests/e2e/test_accessibility.py) opens each one in a
real browser, first as it is shown, then in its error state; the titles test
(tests/chorus/test_page_titles.py) reads the same list with Django's client.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page

from accounts.models import AddressChange
from accounts.tokens import activation_token
from approvals.models import ApprovalRequest
from instruction import workflows
from refunds.models import Campaign, Product, RefundRequest
from sirene.models import Stock
from structures.models import Membership
from tests.factories import (
    ApprovalRequestFactory,
    BankAccountFactory,
    FarmFactory,
    MembershipFactory,
    PendingUserFactory,
    RefundLineFactory,
    RefundRequestFactory,
    StructureFactory,
    UserFactory,
    list_in_sirene,
    make_instructor,
    make_sent_request,
    refund_reference_data,
)


@dataclass
class Farm:
    """EARL Martin: Jeanne its main manager, Marc a manager, Luc a simple user, Paul waiting for approval.

    Marc also runs GAEC du Serre, whose registration is complete: its 2023 request is a draft ready to send
    (one GNR line with its invoice), its 2022 one was sent. Claire works for a management centre and files
    for GAEC du Serre, her client.
    """

    manager: object
    deputy: object
    member: object
    member_membership: object
    newcomer: object
    structure: object
    bank_account: object
    pending: object
    activation_path: str
    reset_path: str
    accountant: object = None
    draft: object = None
    draft_line: object = None
    sent: object = None
    # The Drôme's tax office: Irène instructs GAEC du Serre's requests, in every state (`_instruction`).
    instructor: object = None
    reviewed: object = None
    batch: object = None


def build_farm() -> Farm:
    manager = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeanne", last_name="Martin")
    deputy = UserFactory(email="marc.martin@exemple.fr", first_name="Marc", last_name="Martin")
    member = UserFactory(email="luc.martin@exemple.fr", first_name="Luc", last_name="Martin")
    newcomer = PendingUserFactory(email="paul.salarie@exemple.fr", first_name="Paul", last_name="Salarié")
    structure = StructureFactory(siret="73282932000074", name="EARL Martin")
    MembershipFactory(user=manager, structure=structure, role=Membership.Role.MAIN_MANAGER)
    MembershipFactory(user=deputy, structure=structure, role=Membership.Role.MANAGER)
    member_membership = MembershipFactory(user=member, structure=structure)
    bank_account = BankAccountFactory(structure=structure, label="Compte courant", created_by=manager)
    pending = ApprovalRequestFactory(requester=newcomer, structure=structure, comment="Salarié de l'exploitation")
    # Luc asks to join a neighbour's farm: « Mes rattachements » has a pending row.
    ApprovalRequestFactory(requester=member, structure=StructureFactory(name="GAEC des Prés"))
    ApprovalRequest.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(days=2))
    uid = urlsafe_base64_encode(str(newcomer.pk).encode())
    member_uid = urlsafe_base64_encode(str(member.pk).encode())
    draft, sent, accountant = _refunds(deputy)
    instructor, reviewed, batch = _instruction(sent.structure, deputy)
    return Farm(
        instructor=instructor,
        reviewed=reviewed,
        batch=batch,
        accountant=accountant,
        draft=draft,
        draft_line=draft.lines.get(),
        sent=sent,
        manager=manager,
        deputy=deputy,
        member=member,
        member_membership=member_membership,
        newcomer=newcomer,
        structure=structure,
        bank_account=bank_account,
        pending=pending,
        activation_path=reverse(
            "accounts:activate", kwargs={"uidb64": uid, "token": activation_token.make_token(newcomer)}
        ),
        reset_path=reverse(
            "accounts:password_reset_confirm",
            kwargs={"uidb64": member_uid, "token": default_token_generator.make_token(member)},
        ),
    )


def _refunds(deputy):
    """GAEC du Serre's two requests, and Claire, a centre's accountant attached to the farm."""
    refund_reference_data()
    # The screens are the same whatever the day: the 2023 campaign stays open for them.
    Campaign.objects.filter(year=2023).update(closes_on=timezone.localdate() + timedelta(days=365))
    serre = FarmFactory(siret="44306184100047", name="GAEC du Serre", pacage="026555111", postal_code="26400")
    account = BankAccountFactory(structure=serre, label="Compte de l'exploitation", created_by=deputy)
    MembershipFactory(user=deputy, structure=serre, role=Membership.Role.MAIN_MANAGER)
    accountant = UserFactory(email="claire.compta@cer-diois.fr", first_name="Claire", last_name="Compta")
    centre = StructureFactory(name="Centre de gestion du Diois", is_agricultural_centre=True)
    MembershipFactory(user=accountant, structure=centre, role=Membership.Role.MAIN_MANAGER)
    MembershipFactory(user=accountant, structure=serre)
    draft = RefundRequestFactory(
        structure=serre, year=2023, created_by=deputy, bank_account=account, not_in_difficulty=True
    )
    RefundLineFactory(request=draft, invoice_number="FA-2023-0042")
    draft.total_asked = Decimal("149.60")
    draft.save()
    sent = RefundRequestFactory(
        structure=serre,
        year=2022,
        status=RefundRequest.Status.FILED,
        number="TIC-2022-000007",
        created_by=deputy,
        filed_by=deputy,
        filed_at=timezone.now() - timedelta(days=30),
        bank_account=account,
        bank_label=account.label,
        bank_iban=account.iban,
        bank_bic=account.bic,
        beneficiary_category=serre.beneficiary_category,
        pacage=serre.pacage,
        not_in_difficulty=True,
        total_asked=Decimal("412.40"),
    )
    RefundLineFactory(request=sent, invoice_number="FA-2022-0108", invoice_date=sent_date(2022))
    RefundLineFactory(
        request=sent,
        invoice_number="FA-2022-0230",
        invoice_date=sent_date(2022),
        product=Product.objects.get(code="gpl"),
        quantity=Decimal("4600.00"),
        rate=Decimal("5.72"),
        amount=Decimal("263.12"),
    )
    sent.events.create(kind="filed", actor=deputy, actor_label="Marc Martin (marc.martin@exemple.fr)")
    RefundRequest.objects.filter(pk=sent.pk).update(departement="26")
    return draft, sent, accountant


def _instruction(serre, deputy):
    """Irène, instructor of the Drôme with her application; GAEC du Serre's 2021 request « En instruction »,
    its 2020 one accepted, its 2019 one paid in a batch."""
    instructor = make_instructor(
        "26", email="irene.durand@dgfip.finances.gouv.fr", first_name="Irène", last_name="Durand"
    )
    TOTPDevice.objects.create(user=instructor, name="Téléphone", confirmed=True)  # instruction asks for one
    reviewed = make_sent_request(
        serre, year=2021, lines=2, filed_by=deputy, status=RefundRequest.Status.IN_REVIEW, assigned_to=instructor
    )
    make_sent_request(
        serre, year=2020, lines=1, filed_by=deputy, status=RefundRequest.Status.ACCEPTED, total_granted="149.60"
    ).lines.update(granted_amount="149.60")
    paid = make_sent_request(
        serre, year=2019, lines=1, filed_by=deputy, status=RefundRequest.Status.ACCEPTED, total_granted="149.60"
    )
    paid.lines.update(granted_amount="149.60")
    batch = workflows.put_in_payment([paid.pk], by=instructor, departements=["26"])
    return instructor, reviewed, batch


def sent_date(year: int):
    return timezone.localdate().replace(year=year, month=6, day=12)


def submit_blank(page: Page) -> None:
    """Empties the main form's text fields and sends it, as a hurried user would."""
    form = page.locator("main form[method=post]").last
    for field in form.locator(
        ":is(input[type=text], input[type=email], input[type=password], input[type=tel], textarea)"
        ":visible:not([readonly])"
    ).all():
        field.fill("")
    form.locator("button[type=submit]").last.click()


def submit_wrong_password(page: Page) -> None:
    """Forms whose only field is the current password: a wrong one."""
    page.locator("main form[method=post] input[type=password]").last.fill("pas-le-bon-mot-de-passe")
    page.locator("main form[method=post] button[type=submit]").last.click()


def choose_nothing(page: Page) -> None:
    """The GET forms that pick a structure: sent without a choice."""
    page.locator("main form[method=get] button[type=submit]").last.click()


def choose_no_structure(page: Page) -> None:
    """« Gérer une structure »: « Modifier une structure », the preselected structure taken off."""
    page.locator("main select[name=structure]").select_option("")
    page.locator("main form[method=get] button[type=submit]").last.click()


def empty_the_choices(page: Page) -> None:
    """« Saisir demande de remboursement TIC »: the preselected structure and year taken off, then sent."""
    form = page.locator("main form[method=post]").last
    for select in form.locator("select").all():
        select.select_option("")
    form.locator("button[type=submit]").last.click()


def submit_without_a_file(page: Page) -> None:
    """A form whose file is required (an invoice, a CSV file), sent without one."""
    page.locator("main form[method=post] button[type=submit]").last.click()


def refuse_selection_without_reason(page: Page) -> None:
    """« Approbations »: a row ticked, « Refuser la sélection », then « Refuser » with no reason."""
    page.locator("main input[name=requests]").first.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Refuser la sélection").click()
    page.get_by_role("main").get_by_role("button", name="Refuser").click()


@dataclass(frozen=True)
class Screen:
    name: str
    who: str  # "anonymous", "manager" (Jeanne), "deputy" (Marc), "member" (Luc), "accountant", "instructor" (Irène)
    url: Callable[[Farm], str]
    error: Callable[[Page], None] | None = None
    status: int = 200

    def __str__(self) -> str:
        return self.name


def at(name: str, *args) -> Callable[[Farm], str]:
    return lambda farm: reverse(name, args=[arg(farm) if callable(arg) else arg for arg in args])


def structure_pk(farm: Farm) -> int:
    return farm.structure.pk


def bank_pk(farm: Farm) -> int:
    return farm.bank_account.pk


def draft_pk(farm: Farm) -> int:
    return farm.draft.pk


def draft_line_pk(farm: Farm) -> int:
    return farm.draft_line.pk


def sent_pk(farm: Farm) -> int:
    return farm.sent.pk


def reviewed_pk(farm: Farm) -> int:
    return farm.reviewed.pk


def address_change_path(farm: Farm) -> str:
    """The link mailed to confirm a new contact address of Luc's."""
    change = AddressChange.objects.create(
        user=farm.member, kind=AddressChange.Kind.CONTACT, new_address="luc@bureau.fr", requested_by=farm.member
    )
    return reverse("accounts:confirm_address_change", args=[change.make_token()])


def sirene_comparison_path(farm: Farm) -> str:
    """« Comparer avec le répertoire SIRENE » for EARL Martin, a stock in service listing it under INSEE's name and
    the address its managers never typed: the name, the VAT number and each address line differ. Asked for twice by
    the titles test, the stock is written once."""
    if not Stock.objects.filter(state=Stock.State.CURRENT).exists():
        list_in_sirene(
            farm.structure.siret,
            "EARL MARTIN PERE ET FILS",
            address_complement="LIEU-DIT LES GRANGES",
            street_number="12",
            repetition_index="B",
            street_type="RTE",
            street_name="DE LA FORET",
            postal_code="26400",
            city="CREST",
        )
    return reverse("structures:structure_sirene", args=[farm.structure.pk])


SCREENS = [
    # Anyone
    Screen("accueil", "anonymous", at("home")),
    Screen("inscription", "anonymous", at("accounts:signup"), submit_blank),
    Screen("activation", "anonymous", lambda farm: farm.activation_path, submit_blank),
    Screen("lien d'activation expiré", "anonymous", at("accounts:activation_invalid")),
    Screen("nouveau lien d'activation", "anonymous", at("accounts:resend_activation"), submit_blank),
    Screen("nouveau lien envoyé", "anonymous", at("accounts:resend_activation_done")),
    Screen("connexion", "anonymous", at("accounts:login"), submit_blank),
    Screen("mot de passe oublié", "anonymous", at("accounts:password_reset"), submit_blank),
    Screen("lien de réinitialisation envoyé", "anonymous", at("accounts:password_reset_done")),
    Screen("nouveau mot de passe", "anonymous", lambda farm: farm.reset_path, submit_blank),
    Screen("confirmer une nouvelle adresse", "anonymous", address_change_path),
    Screen(
        "lien de confirmation d'adresse expiré",
        "anonymous",
        at("accounts:confirm_address_change", "nouvelle-adresse"),
    ),
    Screen("conditions générales", "anonymous", at("terms")),
    Screen("accessibilité", "anonymous", at("accessibility")),
    Screen("page introuvable", "anonymous", lambda farm: "/pas-de-page-ici/", status=404),
    # Signed in
    Screen("mon espace", "manager", at("home")),
    Screen("mon espace, simple utilisateur", "member", at("home")),
    Screen("profil", "manager", at("accounts:profile"), submit_blank),
    Screen("changer de mot de passe", "manager", at("accounts:password_change"), submit_blank),
    Screen("confirmer le mot de passe", "manager", at("accounts:confirm_password"), submit_wrong_password),
    Screen("désactiver le compte", "manager", at("accounts:deactivate"), submit_wrong_password),
    Screen("changer l'e-mail du contact", "manager", at("accounts:contact_email_change"), submit_blank),
    Screen("organisation", "manager", at("organisation")),
    Screen("structures", "manager", at("structures:structure_list")),
    Screen("structure", "manager", at("structures:structure_detail", structure_pk)),
    Screen("gérer une structure", "manager", at("structures:structure_manage"), choose_no_structure),
    Screen("créer une structure", "member", at("approvals:structure_create"), submit_blank),
    Screen("modifier une structure", "manager", at("structures:structure_update", structure_pk), submit_blank),
    Screen("comparer avec le répertoire SIRENE", "manager", sirene_comparison_path, submit_blank),
    Screen("utilisateurs de la structure", "manager", at("structures:structure_users", structure_pk)),
    Screen(
        "détacher un utilisateur",
        "manager",
        lambda farm: reverse("structures:membership_detach", args=[farm.structure.pk, farm.member_membership.pk]),
    ),
    Screen("gestionnaire principal", "manager", at("structures:main_manager_hand_over", structure_pk), choose_nothing),
    Screen("créer une coordonnée bancaire", "manager", at("structures:bank_account_create"), submit_blank),
    Screen("coordonnée bancaire", "manager", at("structures:bank_account_detail", bank_pk)),
    Screen("modifier une coordonnée bancaire", "manager", at("structures:bank_account_update", bank_pk), submit_blank),
    Screen("supprimer une coordonnée bancaire", "manager", at("structures:bank_account_delete", bank_pk)),
    Screen("approbations", "manager", at("approvals:approval_list"), refuse_selection_without_reason),
    Screen("approbations, aucune demande", "member", at("approvals:approval_list")),
    Screen(
        "demande de rattachement", "manager", lambda farm: reverse("approvals:approval_detail", args=[farm.pending.pk])
    ),
    Screen(
        "refuser une demande",
        "manager",
        lambda farm: reverse("approvals:refuse", args=[farm.pending.pk]),
        submit_blank,
    ),
    Screen("mes rattachements", "member", at("approvals:my_memberships")),
    Screen("demander un rattachement", "member", at("approvals:request_attachment"), submit_blank),
    Screen("accès refusé", "deputy", at("structures:main_manager_hand_over", structure_pk), status=403),
    # Facturation → Remboursement de taxes
    Screen("facturation", "deputy", at("portal:billing")),
    Screen("remboursement de taxes", "deputy", at("refunds:index")),
    Screen("saisir une demande de remboursement", "deputy", at("refunds:request_start"), empty_the_choices),
    Screen("mes demandes de remboursement", "deputy", at("refunds:request_list")),
    Screen("demande de remboursement, brouillon", "deputy", at("refunds:request_detail", draft_pk)),
    Screen(
        "demande de remboursement déposée",
        "deputy",
        lambda farm: reverse("refunds:request_detail", args=[farm.sent.pk]),
    ),
    Screen("ajouter une ligne de demande", "deputy", at("refunds:line_add", draft_pk), submit_blank),
    Screen("modifier une ligne de demande", "deputy", at("refunds:line_update", draft_pk, draft_line_pk), submit_blank),
    Screen("supprimer une ligne de demande", "deputy", at("refunds:line_delete", draft_pk, draft_line_pk)),
    Screen(
        "joindre une facture",
        "deputy",
        at("refunds:invoice_attach", draft_pk, draft_line_pk),
        submit_without_a_file,
    ),
    Screen("importer des lignes", "deputy", at("refunds:lines_import", draft_pk), submit_without_a_file),
    Screen("envoyer la demande", "deputy", at("refunds:request_send", draft_pk)),
    Screen("supprimer le brouillon", "deputy", at("refunds:request_delete", draft_pk)),
    Screen("mon espace, centre de gestion", "accountant", at("home")),
    # Instruction, by the Drôme's tax office
    Screen("demandes à instruire", "instructor", at("instruction:queue")),
    Screen("demande à instruire, déposée", "instructor", at("instruction:request_detail", sent_pk)),
    Screen("demande à instruire, en instruction", "instructor", at("instruction:request_detail", reviewed_pk)),
    Screen("demander un complément", "instructor", at("instruction:request_information", reviewed_pk), submit_blank),
    Screen("accepter une demande", "instructor", at("instruction:accept", reviewed_pk), submit_blank),
    Screen("rejeter une demande", "instructor", at("instruction:reject", reviewed_pk), submit_blank),
    Screen("paiements", "instructor", at("instruction:payments"), submit_without_a_file),
    Screen("lot de virements", "instructor", at("instruction:batch_detail", lambda farm: farm.batch.pk)),
    Screen("tableau de bord de l'instruction", "instructor", at("instruction:dashboard")),
]
