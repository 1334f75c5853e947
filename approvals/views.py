from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from approvals import workflows
from approvals.forms import AttachmentRequestForm, RefusalForm, StateFilterForm, StructureCreateForm
from approvals.models import ApprovalRequest
from approvals.summary import manager_summary
from chorus import throttling
from chorus.forms import posted
from chorus.paging import page_of
from structures.models import SireneState

PAGE_SIZE = 50
THROTTLED = "Vous avez fait beaucoup de recherches de SIRET en une heure. Réessayez plus tard."


def _shown():
    """The requests as the pages show them: with who asks and for which structure."""
    return ApprovalRequest.objects.select_related("requester", "structure")


def _decidable(request):
    return _shown().decidable_by(request.user)


@login_required
def approval_list(request):
    """« Approbations »: the requests of the structures I manage, pending ones first shown, newest first."""
    filter_form = StateFilterForm(request.GET or None)
    requests = filter_form.filter(_decidable(request).with_delegation())
    summary = manager_summary(request)  # the menu's badge: the pending requests, counted once for both
    page = page_of(
        requests,
        request.GET.get("page"),
        PAGE_SIZE,
        count=summary.waiting if filter_form.state == ApprovalRequest.State.REQUESTED else None,
        # The page's rows by their ids alone: with the managed structures in the filter, PostgreSQL expects a structure
        # to have one pending request, and read every pending request of one that has 5,000 to find the page's 50.
        read=_shown().with_delegation(),
    )
    return render(
        request,
        "approvals/approval_list.html",
        {
            "nav": "approvals",
            "filter_form": filter_form,
            "page": page,
            "pending_on_page": any(approval_request.is_pending for approval_request in page),
            "manages_any": summary.manages,
        },
    )


@login_required
def approval_detail(request, pk):
    """The request, who asks, from which structures, and the buttons « Approuver » and « Refuser »."""
    approval_request = get_object_or_404(_decidable(request).with_delegation().select_related("decided_by"), pk=pk)
    return render(
        request,
        "approvals/approval_detail.html",
        {
            "nav": "approvals",
            "approval_request": approval_request,
            "requester_memberships": approval_request.requester.memberships.select_related("structure"),
        },
    )


def _decided(request, approval_request: ApprovalRequest, *, approve: bool, reason: str = ""):
    """One decision, its message, and back to the list."""
    try:
        workflows.decide(approval_request, by=request.user, approve=approve, reason=reason)
    except workflows.AlreadyDecided:
        messages.info(request, workflows.AlreadyDecided.message)
    else:
        requester = approval_request.requester.get_full_name()
        structure = approval_request.structure.name_and_siret
        if approve:
            messages.success(
                request,
                f"Demande approuvée : {requester} est rattaché(e) à la structure {structure} et en est informé(e).",
            )
        else:
            messages.success(request, f"Demande refusée : {requester} en est informé(e) par courriel, avec le motif.")
    return redirect("approvals:approval_list")


@login_required
def approve(request, pk):
    approval_request = get_object_or_404(_decidable(request), pk=pk)
    if request.method != "POST":  # e.g. back from sign-in after the session ended: show the request again
        return redirect(approval_request)
    return _decided(request, approval_request, approve=True)


@login_required
def refuse(request, pk):
    """« Refuser »: the reason first (it is mailed to the requester), then the decision."""
    approval_request = get_object_or_404(_decidable(request), pk=pk)
    if not approval_request.is_pending:
        messages.info(request, workflows.AlreadyDecided.message)
        return redirect("approvals:approval_list")
    form = RefusalForm(posted(request)[0])
    if form.is_valid():
        return _decided(request, approval_request, approve=False, reason=form.cleaned_data["reason"])
    return render(
        request,
        "approvals/refuse.html",
        {
            "nav": "approvals",
            "form": form,
            "selected": [approval_request],
            "cancel_url": approval_request.get_absolute_url(),
        },
    )


def _selection(request):
    """The requests ticked in the list; any id outside the user's structures is a 404, and nothing changes."""
    values = request.POST.getlist("requests")
    if not all(value.isascii() and value.isdigit() and len(value) < 19 for value in values):
        raise Http404("Demande inconnue.")
    ids = {int(value) for value in values}
    selected = _decidable(request).filter(pk__in=ids)
    if len(selected) != len(ids):
        raise Http404("Demande inconnue.")
    return selected


def _report(request, decided: list, already_decided: int, verb: str) -> None:
    if len(decided) == 1:
        messages.success(request, f"1 demande {verb}. Le demandeur en est informé par courriel.")
    elif decided:
        messages.success(request, f"{len(decided)} demandes {verb}s. Chaque demandeur en est informé par courriel.")
    if already_decided == 1:
        messages.info(request, "1 demande avait déjà été traitée : elle n'a pas changé.")
    elif already_decided:
        messages.info(request, f"{already_decided} demandes avaient déjà été traitées : elles n'ont pas changé.")


@login_required
def approve_selection(request):
    """« Approuver la sélection »: every ticked request, in one transaction."""
    if request.method != "POST":
        return redirect("approvals:approval_list")
    selected = _selection(request)
    if not selected:
        messages.error(request, "Cochez au moins une demande dans la liste.")
    else:
        decided, already_decided = workflows.decide_many(selected, by=request.user, approve=True)
        _report(request, decided, already_decided, "approuvée")
    return redirect("approvals:approval_list")


@login_required
def refuse_selection(request):
    """« Refuser la sélection »: the list sends the ticked requests here; this page asks the reason, once for all."""
    if request.method != "POST":
        return redirect("approvals:approval_list")
    selected = _selection(request)
    if not selected:
        messages.error(request, "Cochez au moins une demande dans la liste.")
        return redirect("approvals:approval_list")
    # From the list, no reason was posted yet: show the form unbound, without errors.
    form = RefusalForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        decided, already_decided = form.save(selected, by=request.user)
        _report(request, decided, already_decided, "refusée")
        return redirect("approvals:approval_list")
    return render(
        request,
        "approvals/refuse.html",
        {"nav": "approvals", "form": form, "selected": selected, "cancel_url": reverse("approvals:approval_list")},
    )


@login_required
def my_memberships(request):
    """« Mes rattachements »: my structures and my requests, with « Retirer » on those still waiting."""
    return render(
        request,
        "approvals/my_memberships.html",
        {
            "nav": "organisation",
            "memberships": request.user.memberships.select_related("structure").order_by("structure__siret"),
            "approval_requests": request.user.approval_requests.select_related("structure", "decided_by"),
        },
    )


@login_required
def request_attachment(request):
    """« Demander un rattachement »: find the structure by its SIRET, say a word, submit."""
    form = AttachmentRequestForm(request.user, posted(request)[0])
    if form.is_valid():
        if not _within_rates(request):
            form.add_error(None, THROTTLED)
        elif approval_request := form.save():
            messages.success(
                request,
                f"Votre demande de rattachement à la structure {approval_request.structure.siret} est envoyée à ses "
                "gestionnaires. Vous recevrez un courriel dès qu'elle sera traitée.",
            )
            return redirect("approvals:my_memberships")
    return render(request, "approvals/request_attachment.html", {"nav": "organisation", "form": form})


def _within_rates(request) -> bool:
    """One SIRET look-up more, counted per account and per address: several accounts do not multiply them.

    « Demander un rattachement » and « Créer une structure » share the counts: both tell whether a SIRET is
    registered.
    """
    return throttling.allow(request, "attachment", who=f"user:{request.user.pk}") and throttling.allow(
        request, "attachment_ip"
    )


@login_required
def structure_create(request):
    """« Gérer une structure » → « Créer une structure »: as at sign-up, the SIRET's structure is created with the
    user as main manager, or, if it exists, the user asks to join it."""
    form = StructureCreateForm(request.user, posted(request)[0])
    if form.is_valid():
        if not _within_rates(request):
            form.add_error(None, THROTTLED)
        elif joined := form.save():
            if joined.created:
                structure = joined.structure
                messages.success(
                    request,
                    f"La structure {structure.siret} est créée{_from_directory(structure)} : vous en êtes le "
                    "gestionnaire principal. Un courriel vous rappelle les étapes qui suivent.",
                )
                if structure.sirene_state == SireneState.UNLISTED:
                    messages.warning(
                        request,
                        f"Ce SIRET est absent du répertoire SIRENE au {structure.sirene_stock_date:%d/%m/%Y}. Vérifiez "
                        "qu'il est juste : le répertoire est mis à jour chaque mois, un établissement créé depuis n'y "
                        "figure pas encore. Saisissez le libellé et l'adresse de la structure dans « Modifier une "
                        "structure ».",
                    )
                return redirect(joined.structure)
            messages.success(
                request,
                f"La structure {joined.structure.siret} est déjà inscrite sur le portail : votre demande de "
                "rattachement est envoyée à ses gestionnaires. Vous recevrez un courriel dès qu'elle sera traitée.",
            )
            return redirect("approvals:my_memberships")
    return render(request, "approvals/structure_create.html", {"nav": "organisation", "form": form})


def _from_directory(structure) -> str:
    if structure.sirene_state not in (SireneState.LISTED, SireneState.CLOSED):
        return ""
    return (
        f" avec le libellé, l'adresse et le numéro de TVA du répertoire SIRENE (stock du "
        f"{structure.sirene_stock_date:%d/%m/%Y})"
    )


@login_required
def withdraw(request, pk):
    approval_request = get_object_or_404(request.user.approval_requests.select_related("structure"), pk=pk)
    if request.method != "POST":
        return redirect("approvals:my_memberships")
    try:
        workflows.withdraw(approval_request)
    except workflows.AlreadyDecided:
        messages.info(request, workflows.AlreadyDecided.message)
    else:
        messages.success(
            request, f"Votre demande de rattachement à la structure {approval_request.structure.siret} est retirée."
        )
    return redirect("approvals:my_memberships")
