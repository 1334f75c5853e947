"""The home page's checklist (PRODUCT §7): the memento's steps, told to the person who reads them.

Steps 1 and 2 are the account's, shown once. Then each structure of the reader, by their role on it: a
manager has steps 3 to 5 to do for it; a simple user reads what its managers did, who did it and when,
and what they can do themselves; a requester reads where their request stands. Once a farm's registration
is complete, step 6, « Déposer votre demande de remboursement », is for its managers and simple users
alike: any member may file (REFUNDS.md §2). The people of a management centre read, besides, the portfolio
of the client farms they are attached to, with the request of each open year (REFUNDS.md §3).

« Il vous reste N étapes » counts only what the reader can do: a manager's step is not a user's to do,
nor is the decision on a request the requester's.

The queries do not grow with the number of structures: the reader's memberships come in one query, with
what the steps need annotated (step 6 included: the open campaigns are a subquery), and a centre's portfolio
one page at a time, each farm's requests joined to it.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Count, Exists, F, FilteredRelation, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from approvals.models import ApprovalRequest
from refunds.models import Campaign, RefundRequest
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
    """A structure the reader is a simple user of: what was done for it, and what they can do (step 6 among it)."""

    membership: Membership
    facts: list[Fact]
    next_step: str
    links: tuple[Link, ...]
    steps: list[Step]

    @property
    def structure(self) -> Structure:
        return self.membership.structure


# How each status of a request is drawn in the portfolio (a DSFR badge's variant; none: grey).
STATUS_BADGES = {
    RefundRequest.Status.DRAFT: "",
    RefundRequest.Status.FILED: "info",
    RefundRequest.Status.IN_REVIEW: "info",
    RefundRequest.Status.INFORMATION_REQUESTED: "warning",
    RefundRequest.Status.ACCEPTED: "success",
    RefundRequest.Status.PARTLY_ACCEPTED: "success",
    RefundRequest.Status.REJECTED: "error",
    RefundRequest.Status.IN_PAYMENT: "new",
    RefundRequest.Status.PAID: "success",
}


@dataclass(frozen=True)
class YearRequest:
    """A client farm's request for one open year, or its absence (`pk` None): a cell of the portfolio."""

    structure_pk: int
    year: int
    pk: int | None
    number: str | None
    status: str | None
    total_asked: Decimal | None

    @property
    def status_label(self) -> str:
        return RefundRequest.Status(self.status).label if self.status else ""

    @property
    def badge(self) -> str:
        return STATUS_BADGES.get(self.status, "")

    @property
    def url(self) -> str:
        """The request's page; with none, « Saisir » for this farm and year."""
        if self.pk is not None:
            return reverse("refunds:request_detail", args=[self.pk])
        return start_url(self.structure_pk, self.year)


def start_url(structure_pk: int, year: int) -> str:
    """« Saisir demande de remboursement TIC » with the farm and the year chosen."""
    return f"{reverse('refunds:request_start')}?{urlencode({'structure': structure_pk, 'year': year})}"


@dataclass(frozen=True)
class ClientFarm:
    """A row of a management centre's portfolio: a farm, what its registration still lacks, its request per year."""

    membership: Membership
    missing: tuple[str, ...]
    requests: tuple[YearRequest, ...] = ()

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
    open_years: list[int] | None = None  # the portfolio's columns

    @property
    def steps(self) -> list[Step]:
        """Every step shown, in the page's order."""
        managed_steps = [step for managed in self.managed for step in managed.steps]
        attached_steps = [step for attached in self.attached for step in attached.steps]
        return [*self.account_steps, *managed_steps, *attached_steps, *self.join_steps]

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
    in_a_centre = _in_a_centre(memberships)
    open_years = _open_years() if in_a_centre else None
    return Home(
        account_steps=_account_steps(user),
        managed=[ManagedStructure(m, _manager_steps(m)) for m in memberships if m.is_manager],
        attached=_attached_structures(user, [m for m in memberships if not m.is_manager]),
        pending=pending,
        refused=[r for r in requests if not r.is_pending],
        join_steps=[] if memberships or pending else [_join_step()],
        portfolio=_portfolio(user, portfolio_page, open_years) if in_a_centre else None,
        open_years=open_years,
    )


def _in_a_centre(memberships) -> bool:
    return any(m.structure.is_agricultural_centre for m in memberships)


def works_for_a_centre(user) -> bool:
    """Whether the user belongs to a management centre, and so has a portfolio of client farms."""
    return Membership.objects.filter(user=user, structure__is_agricultural_centre=True).exists()


def _open_years() -> list[int]:
    """The years whose filing campaign is open today, oldest first."""
    return list(Campaign.objects.open_now().order_by("year").values_list("year", flat=True))


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
        _with_refund_progress(_with_progress(_not_in_portfolio(Membership.objects.filter(user=user), user)))
        .annotate(
            rib_at=Subquery(default_rib.values("created_at")[:1]),
            rib_by_first_name=Subquery(default_rib.values("created_by__first_name")[:1]),
            rib_by_last_name=Subquery(default_rib.values("created_by__last_name")[:1]),
        )
        .order_by(Membership.ROLE_ORDER, "structure__name", "structure__siret")
    )


def _with_refund_progress(memberships):
    """Annotates step 6: whether a campaign is open, the oldest open year without a sent request (None when each
    has one), its closing date, and the structure's draft for that year if it has begun one.

    Subqueries rather than a query of their own: the home page costs the same with or without campaigns.
    """
    open_campaigns = Campaign.objects.open_on(timezone.localdate())
    sent = RefundRequest.objects.filter(structure=OuterRef(OuterRef("structure")), year=OuterRef("year")).exclude(
        status=RefundRequest.Status.DRAFT
    )
    unsent = open_campaigns.filter(~Exists(sent)).order_by("year")
    draft = RefundRequest.objects.filter(
        structure=OuterRef("structure"), year=OuterRef("refund_year"), status=RefundRequest.Status.DRAFT
    )
    # A complement the tax office asked for, whatever the year: it comes before filing another year.
    complement = RefundRequest.objects.filter(
        structure=OuterRef("structure"), status=RefundRequest.Status.INFORMATION_REQUESTED
    ).order_by("year")
    return memberships.annotate(
        campaign_open=Exists(open_campaigns),
        refund_year=Subquery(unsent.values("year")[:1]),
        refund_closes_on=Subquery(unsent.values("closes_on")[:1]),
        refund_complement=Subquery(complement.values("pk")[:1]),
        refund_complement_number=Subquery(complement.values("number")[:1]),
    ).annotate(refund_draft=Subquery(draft.values("pk")[:1]))


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
    steps = [_bank_details_step(membership), _structure_step(membership.structure), _attachment_step(membership)]
    return steps + _refund_steps(membership)


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


def _refund_steps(membership) -> list[Step]:
    """Step 6, once the farm may file: its category, PACAGE and default bank details with a RIB (not a centre's).

    Done when a request is sent for every year whose campaign is open; else it leads to the oldest year left:
    its draft when one is begun, else « Saisir » with the farm and the year chosen. A complement the tax office
    asked for comes first: the step leads to that request until it is answered.
    """
    structure = membership.structure
    if structure.is_agricultural_centre or structure.status != Structure.Status.ACTIVE:
        return []
    title = "Déposer votre demande de remboursement"
    # Before the registration's check: a farm whose RIB went since it filed still answers the complement.
    if membership.refund_complement is not None:
        number = membership.refund_complement_number
        return [
            Step(
                6,
                title,
                TO_DO,
                f"La cellule remboursement demande un complément sur la demande {number} : lisez son message, "
                "modifiez les lignes si besoin et répondez-lui.",
                (
                    Link(
                        "Répondre au complément", reverse("refunds:request_detail", args=[membership.refund_complement])
                    ),
                ),
            )
        ]
    if not (structure.refund_information_complete and membership.has_rib):
        return []
    if not membership.campaign_open:
        return [Step(6, title, NOT_APPLICABLE, "Aucune campagne de dépôt des demandes n'est ouverte en ce moment.")]
    year = membership.refund_year
    if year is None:
        return [
            Step(
                6,
                title,
                DONE,
                "Une demande est déposée pour chaque année dont le dépôt est ouvert : suivez-les dans « Mes demandes "
                "de remboursement ».",
            )
        ]
    closes_on = _day(membership.refund_closes_on)
    if membership.refund_draft is not None:
        return [
            Step(
                6,
                title,
                TO_DO,
                f"La demande {year} est en brouillon : complétez-la et envoyez-la avant le {closes_on}.",
                (
                    Link(
                        f"Reprendre le brouillon {year}",
                        reverse("refunds:request_detail", args=[membership.refund_draft]),
                    ),
                ),
            )
        ]
    return [
        Step(
            6,
            title,
            TO_DO,
            f"Aucune demande n'est déposée pour l'année {year} : saisissez-la et envoyez-la avant le {closes_on}.",
            (Link("Saisir demande de remboursement TIC", start_url(structure.pk, year)),),
        )
    ]


def _day(day: date) -> str:
    return date_format(day, "j F Y")


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
            steps=_refund_steps(m),
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
    """What a simple user can do for the structure themselves, besides filing its request (step 6)."""
    return (
        "Consultez la structure : ses informations, ses coordonnées bancaires et ses utilisateurs.",
        (Link("Consulter la structure", structure.get_absolute_url()),),
    )


def _portfolio(user, number, years: list[int]) -> Page:
    """A centre's client farms: each farm the reader is attached to, the centres aside, one page at a time, with
    its request of each open year (joined to the farm's row: no query per farm nor per year)."""
    farms = _with_progress(client_farms(user, years))
    page = Paginator(farms, PORTFOLIO_PAGE_SIZE).get_page(number)
    page.object_list = [ClientFarm(m, _missing_registration(m), year_requests(m, years)) for m in page.object_list]
    return page


YEAR_REQUEST_FIELDS = ["pk", "number", "status", "total_asked"]


def client_farms(user, years: list[int]):
    """The memberships of the reader in their client farms (every structure but the centres), by name, each with
    its request of each of `years` joined (`refund_<year>_pk`, `_number`, `_status`, `_total_asked`)."""
    farms = Membership.objects.filter(user=user, structure__is_agricultural_centre=False)
    for year in years:
        # One request per structure and year (a database constraint): the join adds no row.
        joined = f"refund_{year}"
        farms = farms.alias(
            **{
                joined: FilteredRelation(
                    "structure__refund_requests", condition=Q(structure__refund_requests__year=year)
                )
            }
        ).annotate(**{f"{joined}_{field}": F(f"{joined}__{field}") for field in YEAR_REQUEST_FIELDS})
    return farms.select_related("structure").order_by("structure__name", "structure__siret")


def year_requests(membership, years: list[int]) -> tuple[YearRequest, ...]:
    """The farm's request of each year, as `client_farms` joined them."""
    return tuple(
        YearRequest(
            membership.structure_id,
            year,
            **{field: getattr(membership, f"refund_{year}_{field}") for field in YEAR_REQUEST_FIELDS},
        )
        for year in years
    )


def portfolio_rows(user):
    """The portfolio as a table to export: a header, then every client farm (not paged), read in chunks.

    The cells are as stored: whoever writes them out (a CSV file) makes them safe for a spreadsheet.
    """
    years = _open_years()
    yield [
        "SIRET",
        "Exploitation",
        "Numéro PACAGE",
        "Catégorie de bénéficiaire",
        "Inscription complète",
        *[f"Demande {year} : {column}" for year in years for column in ("numéro", "statut", "montant demandé")],
    ]
    farms = client_farms(user, years).annotate(has_rib=Exists(_default_rib()))
    for membership in farms.iterator(chunk_size=500):
        structure = membership.structure
        row = [
            structure.siret,
            structure.name,
            structure.pacage,
            structure.get_beneficiary_category_display(),
            "non" if _missing_registration(membership) else "oui",
        ]
        for request in year_requests(membership, years):
            amount = "" if request.total_asked is None else f"{request.total_asked:.2f}".replace(".", ",")
            row += [request.number or "", request.status_label, amount]
        yield row


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
