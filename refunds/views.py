"""The farm's pages of « Remboursement de taxes » (REFUNDS.md §2 and §3): filing a request and following it.

Every page fetches the request through `RefundRequest.objects.visible_to(user)`, the structures the user is
attached to in any role: another structure's ids answer 404, and staff use the admin. Each change is one call
of `refunds.workflows` (one transaction, under the request's row lock), which refuses a request sent since the
page was shown (`NotEditable`): the page then says so and shows the request again. The CSV import and the PDF
receipt are in `import_views` and `receipt_views`.
"""

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from chorus import downloads, reauth
from chorus.forms import posted
from chorus.paging import page_of
from chorus.templatetags.ui import euros
from refunds import workflows
from refunds.forms import HeaderForm, InvoiceForm, LineForm, ListFilterForm, SendForm, StartForm
from refunds.models import INVOICE_MISSING, Campaign, RefundEvent, RefundLine, RefundRequest
from structures.models import Structure

PAGE_SIZE = 25
SENT = "Cette demande est envoyée : elle ne peut plus être modifiée."
LINE_GONE = "Cette ligne n'existe plus : elle a été supprimée entre-temps."
FILED = (
    "La demande {number} est envoyée. Un courriel de confirmation vous est adressé, ainsi qu'aux gestionnaires de la "
    "structure ; l'accusé de dépôt est téléchargeable sur cette page."
)
SENT_BACK = (
    "Votre réponse est envoyée : la demande est de nouveau « Déposée » et retourne à la cellule remboursement. Un "
    "courriel de confirmation vous est adressé, ainsi qu'aux gestionnaires de la structure."
)
# The session key that tells the request's page, once, that sending it was just refused.
SEND_REFUSED = "refunds_send_refused"
# Where each of `workflows.problems` is shown on the request's page (the ids of its blocks).
PROBLEM_ANCHORS = {
    "structure": "beneficiaire",
    "year": "annee",
    "bank_account": "references-bancaires",
    "not_in_difficulty": "declaration",
    "de_minimis_total": "de-minimis",
    "lines": "lignes",
}
# Who the farm reads as the author of an event: its own members as recorded, the tax office as a service. An
# instructor's name and address are never shown to the farm.
OFFICE = "Cellule remboursement"
FARM_EVENTS = [RefundEvent.Kind.CREATED, RefundEvent.Kind.FILED, RefundEvent.Kind.REFILED]
# Once decided and accepted (in full or in part), each line shows what is granted, and why any reduction.
GRANTED = [
    RefundRequest.Status.ACCEPTED,
    RefundRequest.Status.PARTLY_ACCEPTED,
    RefundRequest.Status.IN_PAYMENT,
    RefundRequest.Status.PAID,
]
DECISIONS = [RefundEvent.Kind.ACCEPTED, RefundEvent.Kind.PARTLY_ACCEPTED, RefundEvent.Kind.REJECTED]
PAYMENTS = [RefundEvent.Kind.IN_PAYMENT, RefundEvent.Kind.PAID]


def _visible(request):
    return RefundRequest.objects.visible_to(request.user).select_related(
        "structure", "bank_account", "filed_by", "filer_centre"
    )


def _refund(request, pk) -> RefundRequest:
    return get_object_or_404(_visible(request), pk=pk)


def _line(refund: RefundRequest, line_pk) -> RefundLine:
    return get_object_or_404(refund.lines.select_related("product"), pk=line_pk)


def _context(refund: RefundRequest, **extra) -> dict:
    """What every page of one request shows: its title (for the breadcrumb too) and its structure."""
    return {"nav": "billing", "refund": refund, "refund_title": refund.title, "structure": refund.structure, **extra}


def _read_only(request, refund: RefundRequest):
    """Back to the request, saying why nothing was changed: it is sent (or was, since the page was shown)."""
    messages.info(request, SENT)
    return redirect(refund)


@login_required
def index(request):
    """« Remboursement de taxes »: the application's two entries."""
    return render(request, "refunds/index.html", {"nav": "billing"})


@login_required
def request_start(request):
    """« Saisir demande de remboursement TIC »: the structure and the year, then that year's request."""
    form = StartForm(request.user, posted(request)[0], preselect=request.GET)
    if request.method == "POST" and form.is_valid():
        refund, created = form.save()
        name = refund.structure.display_name
        if created:
            messages.success(
                request,
                f"La demande {refund.year} de {name} est créée en brouillon : ajoutez ses lignes, puis envoyez-la.",
            )
        else:
            messages.info(
                request,
                f"{name} a déjà une demande pour l'année {refund.year} ({refund.get_status_display().lower()}) : "
                "la voici. Une structure dépose une seule demande par année.",
            )
        return redirect(refund)
    return render(
        request,
        "refunds/request_start.html",
        {"nav": "billing", "form": form, "centre": None if form.structures else workflows.centre_of(request.user)},
    )


@login_required
def request_detail(request, pk):
    """The request: a draft's header form (« Enregistrer ») and lines, or, once sent, what was filed and its events."""
    refund = _refund(request, pk)
    is_draft = refund.status == RefundRequest.Status.DRAFT
    if request.method == "POST" and not is_draft:
        messages.info(
            request, "Cette demande est envoyée : ses références bancaires et sa déclaration sont celles du dépôt."
        )
        return redirect(refund)
    lines = list(refund.lines.select_related("product"))
    with_de_minimis = any(line.product.is_de_minimis for line in lines)
    form = (
        HeaderForm(refund, posted(request)[0], with_de_minimis=with_de_minimis, by=request.user) if is_draft else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            form.save()
        except workflows.NotEditable:
            return _read_only(request, refund)
        messages.success(request, "La demande est enregistrée.")
        # « Envoyer » submits the header too, so that what was just ticked or chosen is sent with it.
        return redirect("refunds:request_send", pk=refund.pk) if "send" in request.POST else redirect(refund)
    refused = request.session.pop(SEND_REFUSED, None) == refund.pk
    return render(request, "refunds/request_detail.html", _detail_context(request, refund, lines, form, refused))


def _de_minimis(refund: RefundRequest, lines: list[RefundLine]) -> dict:
    """The de minimis aid this request asks for, the year's ceiling, and whether the aid already received plus this
    request's goes over it: the request's page and the confirmation page warn then."""
    de_minimis_lines = [line for line in lines if line.product.is_de_minimis]
    asked = sum((line.amount for line in de_minimis_lines), Decimal("0.00"))
    campaign = Campaign.objects.filter(year=refund.year).first()
    ceiling = campaign.de_minimis_ceiling if campaign else None
    over_ceiling = (
        bool(de_minimis_lines)
        and refund.de_minimis_total is not None
        and ceiling is not None
        and refund.de_minimis_total + asked > ceiling
    )
    return {
        "with_de_minimis": bool(de_minimis_lines),
        "de_minimis_asked": asked,
        "ceiling": ceiling,
        "over_ceiling": over_ceiling,
    }


def _detail_context(request, refund: RefundRequest, lines: list[RefundLine], form, refused: bool = False) -> dict:
    """`refused`: sending was just refused, and the problems are the page's one error alert, focused."""
    problems = workflows.problems(refund) if refund.is_editable else []
    structure = refund.structure
    categories = dict(Structure.BeneficiaryCategory.choices)
    # Once sent, the category as it was filed; before, the structure's own.
    code = refund.beneficiary_category if refund.is_sent else structure.beneficiary_category
    category = categories.get(code, code)
    events = _events(refund) if refund.is_sent else []
    information_requests = [
        event
        for event in events
        if event.kind == RefundEvent.Kind.INFORMATION_REQUESTED
        and refund.status == RefundRequest.Status.INFORMATION_REQUESTED
    ]
    decisions = [event for event in events if event.kind in DECISIONS]
    payments = [event for event in events if event.kind in PAYMENTS]
    return _context(
        refund,
        lines=lines,
        form=form,
        problems=[
            {"message": problem.message, "anchor": PROBLEM_ANCHORS.get(problem.field, "lignes"), "field": problem.field}
            for problem in problems
        ],
        refused=refused and bool(problems),
        is_manager=not refund.is_sent and structure.is_managed_by(request.user),
        category=category,
        **_de_minimis(refund, lines),
        events=events,
        information_request=information_requests[-1] if information_requests else None,
        decision=decisions[-1] if decisions and refund.status in [*GRANTED, RefundRequest.Status.REJECTED] else None,
        payment=payments[-1] if payments else None,
        shows_granted=refund.status in GRANTED,
    )


def _events(refund: RefundRequest) -> list[RefundEvent]:
    """The « fil d'évènements », each with `who` the farm reads as its author."""
    events = list(refund.events.select_related("actor"))
    for event in events:
        by_staff = event.actor is not None and event.actor.is_staff
        event.who = OFFICE if by_staff or event.kind not in FARM_EVENTS else event.actor_label or "–"
    return events


def _line_page(request, refund: RefundRequest, form: LineForm, line: RefundLine | None = None):
    return render(
        request,
        "refunds/line_form.html",
        _context(refund, form=form, line=line, live_rates=form.live_rates()),
    )


def _line_saved(request, refund: RefundRequest, line: RefundLine, verb: str):
    messages.success(
        request,
        f"La ligne de la facture « {line.invoice_number} » est {verb} : {euros(line.amount)} au taux de "
        f"{line.rate_display}.",
    )
    if "another" in request.POST:
        return redirect("refunds:line_add", pk=refund.pk)
    return redirect(refund)


@login_required
def line_add(request, pk):
    """« Ajouter ligne de demande »."""
    refund = _refund(request, pk)
    if not refund.is_editable:
        return _read_only(request, refund)
    form = LineForm(refund, *posted(request), by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            line = form.save()
        except workflows.NotEditable:
            return _read_only(request, refund)
        if line is not None:
            return _line_saved(request, refund, line, "ajoutée")
    return _line_page(request, refund, form)


@login_required
def line_update(request, pk, line_pk):
    refund = _refund(request, pk)
    line = _line(refund, line_pk)
    if not refund.is_editable:
        return _read_only(request, refund)
    form = LineForm(refund, *posted(request), line=line, by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            saved = form.save()
        except workflows.NotEditable:
            return _read_only(request, refund)
        except RefundLine.DoesNotExist:
            messages.info(request, LINE_GONE)
            return redirect(refund)
        if saved is not None:
            return _line_saved(request, refund, saved, "modifiée")
    return _line_page(request, refund, form, line)


@login_required
def line_delete(request, pk, line_pk):
    """« Supprimer » a line: a confirmation page, then the POST."""
    refund = _refund(request, pk)
    line = _line(refund, line_pk)
    if not refund.is_editable:
        return _read_only(request, refund)
    if request.method == "POST":
        try:
            workflows.delete_line(line.pk, by=request.user)
        except workflows.NotEditable:
            return _read_only(request, refund)
        except RefundLine.DoesNotExist:
            messages.info(request, LINE_GONE)
        else:
            messages.success(request, f"La ligne de la facture « {line.invoice_number} » est supprimée.")
        return redirect(refund)
    return render(request, "refunds/line_delete.html", _context(refund, line=line))


@login_required
def invoice_attach(request, pk, line_pk):
    """« Joindre la facture » of a line (or replace it)."""
    refund = _refund(request, pk)
    line = _line(refund, line_pk)
    if not refund.is_editable:
        return _read_only(request, refund)
    form = InvoiceForm(line, *posted(request), by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            form.save()
        except workflows.NotEditable:
            return _read_only(request, refund)
        except RefundLine.DoesNotExist:
            messages.info(request, LINE_GONE)
            return redirect(refund)
        messages.success(request, f"La facture de la ligne « {line.invoice_number} » est jointe.")
        return redirect(refund)
    return render(request, "refunds/invoice_attach.html", _context(refund, line=line, form=form))


@login_required
def invoice_download(request, pk, line_pk):
    """A line's invoice, as an attachment, to the structure's members and to staff allowed to see requests."""
    requests = RefundRequest.objects.documents_readable_by(request.user)
    line = get_object_or_404(RefundLine.objects.filter(request__in=requests), request__pk=pk, pk=line_pk)
    return downloads.attachment(
        line.invoice, line.invoice_download_name, line.invoice_content_type, missing=INVOICE_MISSING
    )


@login_required
def request_send(request, pk):
    """« Envoyer »: a confirmation page (total, lines, bank account), then the POST; the identity is asked again.

    When an instructor asked for a complement, the same page is « Répondre au complément », with the farm's answer.
    """
    refund = _refund(request, pk)
    if not reauth.is_recent(request):
        return reauth.ask(request)
    if not refund.is_editable:
        return _already_sent(request, refund)
    form = SendForm(refund, posted(request)[0], by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            sent = form.save()
        except workflows.SendingRefused as refused:
            return _refused(request, refund, refused.problems)
        except workflows.AlreadySent:
            return _already_sent(request, refund)
        messages.success(request, SENT_BACK if form.answers_complement else FILED.format(number=sent.number))
        return redirect(sent)
    if problems := workflows.problems(refund):
        return _refused(request, refund, problems)
    lines = list(refund.lines.select_related("product"))
    information_request = refund.events.filter(kind=RefundEvent.Kind.INFORMATION_REQUESTED).last()
    return render(
        request,
        "refunds/request_send.html",
        _context(
            refund,
            form=form,
            line_count=len(lines),
            information_request=information_request if form.answers_complement else None,
            **_de_minimis(refund, lines),
        ),
    )


def _refused(request, refund: RefundRequest, problems):
    """Back to the request, whose page then lists the problems once, in an error alert that takes the focus.

    The page computes them again when it is shown (`workflows.problems`): the session carries only which request
    was refused, once, as a message would.
    """
    request.session[SEND_REFUSED] = refund.pk
    return redirect(refund)


def _already_sent(request, refund: RefundRequest):
    """Another member (or another tab) sent it first, or it was deleted meanwhile."""
    current = _visible(request).filter(pk=refund.pk).first()
    if current is None:
        messages.info(request, "Cette demande a été supprimée entre-temps.")
        return redirect("refunds:request_list")
    filer = current.filed_by.get_full_name() if current.filed_by else "un autre utilisateur"
    when = f" le {timezone.localtime(current.filed_at):%d/%m/%Y à %H:%M}" if current.filed_at else ""
    messages.info(
        request, f"Cette demande a déjà été envoyée par {filer}{when} : elle porte le numéro {current.number}."
    )
    return redirect(current)


@login_required
def request_delete(request, pk):
    """« Supprimer le brouillon »: a confirmation page, then the POST; a sent request is never deleted."""
    refund = _refund(request, pk)
    if refund.status != RefundRequest.Status.DRAFT:
        return _read_only(request, refund)
    if request.method == "POST":
        try:
            workflows.delete_draft(refund.pk, by=request.user)
        except workflows.NotEditable:
            return _read_only(request, refund)
        messages.success(
            request, f"Le brouillon de la demande {refund.year} de {refund.structure.display_name} est supprimé."
        )
        return redirect("refunds:request_list")
    return render(
        request,
        "refunds/request_delete.html",
        _context(refund, line_count=refund.lines.count()),
    )


@login_required
def request_list(request):
    """« Mes demandes de remboursement »: the requests of every structure of mine, newest year first, filtered."""
    visible = RefundRequest.objects.visible_to(request.user)
    structures = Structure.objects.filter(pk__in=visible.values("structure")).order_by("name", "siret")
    years = visible.order_by("-year").values_list("year", flat=True).distinct()
    filter_form = ListFilterForm(structures, years, request.GET or None)
    last_event = RefundEvent.objects.filter(request=OuterRef("pk")).order_by("-at", "-pk")
    requests = (
        filter_form.filter(visible)
        .select_related("structure")
        .annotate(
            last_event_at=Subquery(last_event.values("at")[:1]),
            last_event_kind=Subquery(last_event.values("kind")[:1]),
        )
        .order_by("-year", "structure__name", "structure__siret", "pk")
    )
    page = page_of(requests, request.GET.get("page"), PAGE_SIZE)
    for refund in page:
        refund.last_event_label = RefundEvent.Kind(refund.last_event_kind).label if refund.last_event_kind else ""
    return render(
        request,
        "refunds/request_list.html",
        {
            "nav": "billing",
            "filter_form": filter_form,
            "page": page,
            "filtered": any(request.GET.get(name) for name in filter_form.fields),
        },
    )
