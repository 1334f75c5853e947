"""Every screen of the portal, who sees it, and how to bring it to its error state.

The accessibility sweep (tests/e2e/test_accessibility.py) opens each one in a
real browser, first as it is shown, then in its error state; the titles test
(tests/chorus/test_page_titles.py) reads the same list with Django's client.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import Page

from accounts.models import AddressChange
from accounts.tokens import activation_token
from approvals.models import ApprovalRequest
from structures.models import Membership
from tests.factories import (
    ApprovalRequestFactory,
    BankAccountFactory,
    MembershipFactory,
    PendingUserFactory,
    StructureFactory,
    UserFactory,
)


@dataclass
class Farm:
    """EARL Martin: Jeanne its main manager, Marc a manager, Luc a simple user, Paul waiting for approval."""

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
    return Farm(
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


def refuse_selection_without_reason(page: Page) -> None:
    """« Approbations »: a row ticked, « Refuser la sélection », then « Refuser » with no reason."""
    page.locator("main input[name=requests]").first.focus()
    page.keyboard.press("Space")
    page.get_by_role("button", name="Refuser la sélection").click()
    page.get_by_role("main").get_by_role("button", name="Refuser").click()


@dataclass(frozen=True)
class Screen:
    name: str
    who: str  # "anonymous", "manager" (Jeanne), "deputy" (Marc), "member" (Luc)
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


def address_change_path(farm: Farm) -> str:
    """The link mailed to confirm a new contact address of Luc's."""
    change = AddressChange.objects.create(
        user=farm.member, kind=AddressChange.Kind.CONTACT, new_address="luc@bureau.fr", requested_by=farm.member
    )
    return reverse("accounts:confirm_address_change", args=[change.make_token()])


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
]
