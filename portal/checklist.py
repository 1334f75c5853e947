"""The memento's steps, with where the signed-in user stands on each."""

from dataclasses import dataclass

from django.urls import reverse

from approvals.models import ApprovalRequest
from structures.models import BankAccount, Membership


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    done: bool
    detail: str
    link: str = ""
    link_label: str = ""


def steps_for(user, waiting: int) -> list[Step]:
    """`waiting`: the requests waiting on the structures the user manages (the menu's badge counts them)."""
    memberships = list(Membership.objects.filter(user=user).select_related("structure"))
    return [
        Step(1, "Créer votre compte utilisateur et votre structure", True, "Votre compte est créé."),
        Step(2, "Activer votre compte", user.has_activated, "Votre mot de passe est défini, votre compte est actif."),
        _bank_details_step(memberships),
        _structure_step(memberships),
        _attachment_step(user, memberships, waiting),
    ]


def _bank_details_step(memberships) -> Step:
    title = "Enregistrer vos coordonnées bancaires et télécharger votre RIB"
    structures = {m.structure_id for m in memberships}
    with_bank_details = set(
        BankAccount.objects.filter(structure__in=structures, is_default=True)
        .exclude(rib="")
        .values_list("structure_id", flat=True)
    )
    if structures and structures <= with_bank_details:
        return Step(
            3,
            title,
            True,
            "Vos coordonnées bancaires et une copie de votre RIB sont enregistrées : elles seront jointes à vos "
            "demandes de remboursement.",
        )
    detail = (
        "Vos coordonnées bancaires et une copie de votre RIB sont nécessaires pour déposer vos demandes de "
        "remboursement."
    )
    if any(m.is_manager for m in memberships):
        return Step(3, title, False, detail, reverse("structures:bank_account_create"), "Créer une coordonnée bancaire")
    return Step(3, title, False, detail + " Un gestionnaire de votre structure les enregistre.")


def _structure_step(memberships) -> Step:
    title = "Modifier les informations de votre structure"
    if memberships and all(m.structure.is_agricultural_centre for m in memberships):
        return Step(
            4,
            title,
            True,
            "Votre structure est un centre de gestion agricole : elle dépose les demandes de ses clients, sans "
            "catégorie de bénéficiaire ni numéro PACAGE propres.",
        )
    if memberships and all(m.structure.refund_information_complete for m in memberships):
        return Step(
            4,
            title,
            True,
            "La catégorie de bénéficiaire et le numéro PACAGE de votre structure sont renseignés.",
        )
    detail = (
        "Renseignez la catégorie de bénéficiaire et le numéro PACAGE de votre structure : ils seront reportés sur "
        "vos demandes de remboursement."
    )
    if any(m.is_manager for m in memberships):
        return Step(4, title, False, detail, reverse("structures:structure_manage"), "Gérer une structure")
    return Step(4, title, False, detail)


def _attachment_step(user, memberships, waiting: int) -> Step:
    if any(m.is_manager for m in memberships):
        title = "Valider le rattachement d'autres utilisateurs"
        if waiting:
            return Step(
                5,
                title,
                False,
                f"{waiting} demande{'s' if waiting > 1 else ''} de rattachement attend{'ent' if waiting > 1 else ''} "
                "votre décision.",
                reverse("approvals:approval_list"),
                "Approbations",
            )
        return Step(5, title, True, "Aucune demande de rattachement n'attend votre décision.")
    title = "Rattachement à votre structure"
    if ApprovalRequest.objects.pending_filed_by(user).exists():
        return Step(
            5,
            title,
            False,
            "Votre demande de rattachement attend la décision du gestionnaire principal de la structure. "
            "Vous recevrez un courriel dès qu'elle sera traitée.",
            reverse("approvals:my_memberships"),
            "Mes rattachements",
        )
    if memberships:
        return Step(5, title, True, "Vous êtes rattaché(e) à votre structure.")
    return Step(
        5,
        title,
        False,
        "Vous n'êtes rattaché(e) à aucune structure.",
        reverse("approvals:request_attachment"),
        "Demander un rattachement",
    )
