"""The home page's checklist (PRODUCT §7): the memento's steps, told to the person who reads them.

Steps 1 and 2 are the account's, shown once. Then each structure of the reader, by their role on it: a
manager has steps 3 to 5 to do for it; a simple user reads what its managers did, who did it and when,
and what they can do themselves; a requester reads where their request stands. The people of a management
centre read, besides, the portfolio of the client farms they are attached to (REFUNDS.md §3).

« Il vous reste N étapes » counts only what the reader can do: a manager's step is not a user's to do,
nor is the decision on a request the requester's.

The queries do not grow with the number of structures: the reader's memberships come in one query, with
what the steps need annotated, and a centre's portfolio one page at a time.
"""

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from approvals.models import ApprovalRequest
from structures.models import BankAccount, Membership, Structure

DONE, TO_DO, NOT_APPLICABLE = "done", "to_do", "not_applicable"
PORTFOLIO_PAGE_SIZE = 25


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Step:
    """One step of the memento; `state` is DONE, TO_DO (the reader's to do) or NOT_APPLICABLE."""

    number: int
    title: str
    state: str
    detail: str
    links: tuple[Link, ...] = ()

    @property
    def to_do(self) -> bool:
        return self.state == TO_DO

    @property
    def done(self) -> bool:
        """Nothing left to do on it: done, or without object for this structure."""
        return not self.to_do


@dataclass(frozen=True)
class ManagedStructure:
    """A structure the reader manages, with steps 3 to 5 for it."""

    membership: Membership
    steps: list[Step]

    @property
    def structure(self) -> Structure:
        return self.membership.structure


@dataclass(frozen=True)
class Fact:
    """What a structure's managers did (or have still to do), as its simple users read it."""

    subject: str
    done: bool
    text: str
    by: str = ""  # who did it, when known
    at: datetime | None = None


@dataclass(frozen=True)
class AttachedStructure:
    """A structure the reader is a simple user of: what was done for it, and what they can do."""

    membership: Membership
    facts: list[Fact]
    next_step: str
    links: tuple[Link, ...]

    @property
    def structure(self) -> Structure:
        return self.membership.structure


@dataclass(frozen=True)
class ClientFarm:
    """A row of a management centre's portfolio: a farm, and what its registration still lacks."""

    membership: Membership
    missing: tuple[str, ...]

    @property
    def structure(self) -> Structure:
        return self.membership.structure

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Home:
    account_steps: list[Step]
    managed: list[ManagedStructure]
    attached: list[AttachedStructure]
    pending: list[ApprovalRequest]
    refused: list[ApprovalRequest]
    join_steps: list[Step]
    portfolio: Page | None

    @property
    def steps(self) -> list[Step]:
        """Every step shown, in the page's order."""
        managed_steps = [step for managed in self.managed for step in managed.steps]
        return [*self.account_steps, *managed_steps, *self.join_steps]

    @property
    def steps_left(self) -> int:
        """The steps the reader has still to do themselves."""
        return sum(step.to_do for step in self.steps)

    @property
    def waiting(self) -> int:
        """The attachment requests waiting on the structures whose steps are shown (the menu's badge counts them)."""
        return sum(managed.membership.waiting for managed in self.managed)


def home_for(user, portfolio_page: str | int | None = None) -> Home:
    """What the home page tells `user`; `portfolio_page`, from the address, pages a centre's client farms."""
    memberships = list(_own_memberships(user))
    requests = list(_open_requests(user))
    pending = [r for r in requests if r.is_pending]
    return Home(
        account_steps=_account_steps(user),
        managed=[ManagedStructure(m, _manager_steps(m)) for m in memberships if m.is_manager],
        attached=_attached_structures(user, [m for m in memberships if not m.is_manager]),
        pending=pending,
        refused=[r for r in requests if not r.is_pending],
        join_steps=[] if memberships or pending else [_join_step()],
        portfolio=_portfolio(user, portfolio_page) if _in_a_centre(memberships) else None,
    )


def _in_a_centre(memberships) -> bool:
    return any(m.structure.is_agricultural_centre for m in memberships)


def _with_progress(memberships):
    """Annotates what the steps read: a default bank account with its RIB, the requests waiting."""
    waiting = (
        ApprovalRequest.objects.pending()
        .filter(structure=OuterRef("structure"))
        .order_by()
        .values("structure")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return memberships.select_related("structure").annotate(
        has_rib=Exists(_default_rib()), waiting=Coalesce(Subquery(waiting, output_field=IntegerField()), 0)
    )


def _default_rib():
    return BankAccount.objects.filter(structure=OuterRef("structure"), is_default=True).exclude(rib="").order_by()


def _own_memberships(user):
    """The reader's structures, but the client farms of a centre they belong to: those are the portfolio's.

    With, for the structures of which they are a simple user, who registered the default bank details and when.
    """
    default_rib = _default_rib()
    return (
        _with_progress(_not_in_portfolio(Membership.objects.filter(user=user), user))
        .annotate(
            rib_at=Subquery(default_rib.values("created_at")[:1]),
            rib_by_first_name=Subquery(default_rib.values("created_by__first_name")[:1]),
            rib_by_last_name=Subquery(default_rib.values("created_by__last_name")[:1]),
        )
        .order_by(Membership.ROLE_ORDER, "structure__name", "structure__siret")
    )


def _not_in_portfolio(memberships, user):
    in_a_centre = Membership.objects.filter(user=user, structure__is_agricultural_centre=True)
    return memberships.exclude(Q(structure__is_agricultural_centre=False) & Exists(in_a_centre))


def _open_requests(user):
    """The reader's requests waiting for a decision, and their refusals not followed by a newer request or an
    attachment (the refusal's reason is worth reading until then)."""
    attached = Membership.objects.filter(user=user, structure=OuterRef("structure"))
    newer = ApprovalRequest.objects.filter(
        requester=user, structure=OuterRef("structure"), created_at__gt=OuterRef("created_at")
    )
    still_refused = Q(state=ApprovalRequest.State.REFUSED) & ~Exists(attached) & ~Exists(newer)
    return (
        ApprovalRequest.objects.filter(requester=user)
        .filter(Q(state=ApprovalRequest.State.REQUESTED) | still_refused)
        .select_related("structure")
    )


def _account_steps(user) -> list[Step]:
    return [
        Step(1, "Créer votre compte utilisateur", DONE, "Votre compte est créé."),
        Step(
            2,
            "Activer votre compte",
            DONE if user.has_activated else TO_DO,
            "Votre mot de passe est défini, votre compte est actif.",
        ),
    ]


def _manager_steps(membership) -> list[Step]:
    return [_bank_details_step(membership), _structure_step(membership.structure), _attachment_step(membership)]


def _bank_details_step(membership) -> Step:
    title = "Enregistrer les coordonnées bancaires et télécharger le RIB"
    structure = membership.structure
    if structure.is_agricultural_centre:
        return Step(
            3,
            title,
            NOT_APPLICABLE,
            "Un centre de gestion agricole n'enregistre pas de coordonnées bancaires propres : il dépose les "
            "demandes de ses clients, qui portent les leurs.",
        )
    if membership.has_rib:
        return Step(
            3,
            title,
            DONE,
            "Les coordonnées bancaires par défaut et une copie du RIB sont enregistrées : elles seront jointes aux "
            "demandes de remboursement de la structure.",
        )
    create = reverse("structures:bank_account_create") + f"?structure={structure.pk}"
    return Step(
        3,
        title,
        TO_DO,
        "Des coordonnées bancaires par défaut, avec une copie du RIB, sont nécessaires pour déposer les demandes "
        "de remboursement de la structure.",
        (Link("Créer une coordonnée bancaire", create),),
    )


def _structure_step(structure) -> Step:
    title = "Modifier les informations de la structure"
    if structure.is_agricultural_centre:
        return Step(
            4,
            title,
            DONE,
            "La structure est déclarée centre de gestion agricole : elle n'a ni catégorie de bénéficiaire ni "
            "numéro PACAGE ; ceux de chaque client figurent sur ses demandes.",
        )
    if structure.refund_information_complete:
        return Step(
            4,
            title,
            DONE,
            f"La catégorie de bénéficiaire et le numéro PACAGE ({structure.pacage}) de la structure sont renseignés.",
        )
    missing = " et ".join(_missing_refund_information(structure))
    return Step(
        4,
        title,
        TO_DO,
        f"Renseignez {missing} de la structure, qui seront reportés sur ses demandes de remboursement, ou "
        "indiquez qu'elle est un centre de gestion agricole.",
        (Link("Modifier la structure", reverse("structures:structure_update", args=[structure.pk])),),
    )


def _missing_refund_information(structure) -> list[str]:
    missing = []
    if not structure.beneficiary_category:
        missing.append("la catégorie de bénéficiaire")
    if not structure.pacage:
        missing.append("le numéro PACAGE")
    return missing


def _attachment_step(membership) -> Step:
    title = "Valider le rattachement d'autres utilisateurs"
    waiting = membership.waiting
    if not waiting:
        return Step(5, title, DONE, "Aucune demande de rattachement n'attend votre décision.")
    plural = waiting > 1
    return Step(
        5,
        title,
        TO_DO,
        f"{waiting} demande{'s' if plural else ''} de rattachement attend{'ent' if plural else ''} votre décision.",
        (Link("Approbations", reverse("approvals:approval_list")),),
    )


def _join_step() -> Step:
    create = reverse("structures:structure_manage") + "?request_type=create"
    return Step(
        3,
        "Rejoindre une structure",
        TO_DO,
        "Vous n'êtes rattaché(e) à aucune structure. Demandez à rejoindre celle de votre exploitation ; si elle "
        "n'est pas encore inscrite sur le portail, créez-la : vous en serez le gestionnaire principal.",
        (
            Link("Demander un rattachement", reverse("approvals:request_attachment")),
            Link("Créer une structure", create),
        ),
    )


def _attached_structures(user, memberships) -> list[AttachedStructure]:
    """The structures the reader is a simple user of, with who did what for them.

    Their histories come in one query, run whether or not there are any (a page costs the same whatever its rows).
    """
    simple_user_of = _not_in_portfolio(Membership.objects.filter(user=user, role=Membership.Role.USER), user)
    history = {}
    for record in (
        Structure.history.filter(id__in=simple_user_of.values("structure"))
        .select_related("history_user")
        .order_by("id", "history_date", "pk")
    ):
        history.setdefault(record.id, []).append(record)
    return [
        AttachedStructure(
            m,
            [_bank_details_fact(m), _refund_information_fact(m.structure, history.get(m.structure_id, []))],
            *_user_next_step(m.structure),
        )
        for m in memberships
    ]


def _bank_details_fact(membership) -> Fact:
    subject = "Coordonnées bancaires et RIB"
    if membership.structure.is_agricultural_centre:
        return Fact(subject, True, "sans objet : un centre de gestion agricole dépose les demandes de ses clients")
    if not membership.has_rib:
        return Fact(subject, False, "pas encore enregistrés ; un gestionnaire de la structure s'en charge")
    by = f"{membership.rib_by_first_name or ''} {membership.rib_by_last_name or ''}".strip()
    return Fact(subject, True, "enregistrés", by, membership.rib_at)


def _refund_information_fact(structure, records) -> Fact:
    subject = "Catégorie de bénéficiaire et numéro PACAGE"
    if structure.is_agricultural_centre:
        return Fact(subject, True, "sans objet : la structure est déclarée centre de gestion agricole")
    if not structure.refund_information_complete:
        return Fact(subject, False, "pas encore renseignés ; un gestionnaire de la structure s'en charge")
    record = _refund_information_set_by(structure, records)
    if record is None:  # a structure imported without its history
        return Fact(subject, True, "renseignés")
    by = record.history_user.get_full_name() if record.history_user else ""
    return Fact(subject, True, "renseignés", by, record.history_date)


def _refund_information_set_by(structure, records):
    """The history record that gave the category and PACAGE their present values; records oldest first."""
    setter, values = None, None
    for record in records:
        if (record.beneficiary_category, record.pacage) != values:
            setter, values = record, (record.beneficiary_category, record.pacage)
    return setter if values == (structure.beneficiary_category, structure.pacage) else None


def _user_next_step(structure) -> tuple[str, tuple[Link, ...]]:
    """What a simple user can do for the structure themselves.

    Refund requests (REFUNDS.md) come here first, as « Déposer une demande de remboursement ».
    """
    return (
        "Consultez la structure : ses informations, ses coordonnées bancaires et ses utilisateurs.",
        (Link("Consulter la structure", structure.get_absolute_url()),),
    )


def _portfolio(user, number) -> Page:
    """A centre's client farms: each farm the reader is attached to, the centres aside, one page at a time."""
    farms = _with_progress(Membership.objects.filter(user=user, structure__is_agricultural_centre=False)).order_by(
        "structure__name", "structure__siret"
    )
    page = Paginator(farms, PORTFOLIO_PAGE_SIZE).get_page(number)
    page.object_list = [ClientFarm(m, _missing_registration(m)) for m in page.object_list]
    return page


def _missing_registration(membership) -> tuple[str, ...]:
    """What a client farm's registration lacks, each item named as the farm's page names it."""
    structure = membership.structure
    missing = []
    if not membership.has_rib:
        missing.append("coordonnées bancaires par défaut avec RIB")
    if not structure.beneficiary_category:
        missing.append("catégorie de bénéficiaire")
    if not structure.pacage:
        missing.append("numéro PACAGE")
    return tuple(missing)
