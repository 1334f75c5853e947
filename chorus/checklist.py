"""The memento's steps, with where the signed-in user stands on each."""

from dataclasses import dataclass

from approvals.models import ApprovalRequest
from structures.models import Membership


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    done: bool
    detail: str


def steps_for(user) -> list[Step]:
    memberships = list(Membership.objects.filter(user=user).select_related("structure"))
    pending = ApprovalRequest.objects.pending().filter(requester=user).count()
    manages = [m.structure for m in memberships if m.role == Membership.Role.MAIN_MANAGER]

    if manages:
        attachment = Step(
            5,
            "Valider le rattachement d'autres utilisateurs",
            True,
            "Vous êtes gestionnaire principal : vous validerez les demandes de rattachement à votre structure.",
        )
    elif pending:
        attachment = Step(
            5,
            "Rattachement à votre structure",
            False,
            "Votre demande de rattachement attend la décision du gestionnaire principal de la structure. "
            "Vous recevrez un courriel dès qu'elle sera traitée.",
        )
    else:
        attachment = Step(
            5,
            "Rattachement à votre structure",
            bool(memberships),
            "Vous êtes rattaché à votre structure." if memberships else "Vous n'êtes rattaché à aucune structure.",
        )
    return [
        Step(1, "Créer votre compte utilisateur et votre structure", True, "Votre compte est créé."),
        Step(2, "Activer votre compte", user.has_activated, "Votre mot de passe est défini, votre compte est actif."),
        Step(
            3,
            "Enregistrer vos coordonnées bancaires et télécharger votre RIB",
            False,
            "Vos coordonnées bancaires et une copie de votre RIB sont nécessaires pour déposer vos "
            "demandes de remboursement.",
        ),
        Step(
            4,
            "Modifier les informations de votre structure",
            False,
            "Renseignez la catégorie de bénéficiaire et le numéro PACAGE de votre structure : ils seront "
            "reportés sur vos demandes de remboursement.",
        ),
        attachment,
    ]
