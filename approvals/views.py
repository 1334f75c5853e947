from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from approvals import workflows
from approvals.forms import AttachmentRequestForm, RefusalForm, StateFilterForm
from approvals.models import ApprovalRequest
from chorus import throttling
from structures.forms import posted
from structures.models import Structure

PAGE_SIZE = 50
UNKNOWN_SIRET = (
    "Aucune structure n'est inscrite sur le portail avec ce SIRET. Vérifiez le numéro, ou demandez à la structure "
    "de s'inscrire : son inscription la crée et fait de la personne qui s'inscrit son gestionnaire principal."
)
THROTTLED = "Vous avez fait beaucoup de recherches de SIRET en une heure. Réessayez plus tard."


def _decidable(request):
    return ApprovalRequest.objects.decidable_by(request.user).select_related("requester", "structure")


@login_required
def approval_list(request):
    """« Approbations »: the requests of the structures I manage, pending ones first shown, newest first."""
    filter_form = StateFilterForm(request.GET or None)
    requests = filter_form.filter(_decidable(request).with_delegation())
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "approvals/approval_list.html",
        {"nav": "approvals", "filter_form": filter_form, "page": page},
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
        structure = approval_request.structure.display_name
        if approve:
            messages.success(
                request, f"Demande approuvée : {requester} est rattaché(e) à {structure} et en est informé(e)."
            )
        else:
            messages.success(request, f"Demande refusée : {requester} en est informé(e) par courriel, avec le motif.")
    return redirect("approvals:list")


@login_required
@require_POST
def approve(request, pk):
    return _decided(request, get_object_or_404(_decidable(request), pk=pk), approve=True)


@login_required
def refuse(request, pk):
    """« Refuser »: the reason first (it is mailed to the requester), then the decision."""
    approval_request = get_object_or_404(_decidable(request), pk=pk)
    if not approval_request.is_pending:
        messages.info(request, workflows.AlreadyDecided.message)
        return redirect("approvals:list")
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
    if decided:
        count = len(decided)
        plural = "s" if count > 1 else ""
        messages.success(
            request, f"{count} demande{plural} {verb}{plural}. Chaque demandeur en est informé par courriel."
        )
    if already_decided:
        messages.info(
            request,
            f"{already_decided} demande(s) avaient déjà été traitées : elles n'ont pas changé."
            if already_decided > 1 or decided
            else workflows.AlreadyDecided.message,
        )


@login_required
@require_POST
def approve_selection(request):
    """« Approuver la sélection »: every ticked request, in one transaction."""
    selected = _selection(request)
    if not selected:
        messages.error(request, "Cochez au moins une demande dans la liste.")
    else:
        decided, already_decided = workflows.decide_many(selected, by=request.user, approve=True)
        _report(request, decided, already_decided, "approuvée")
    return redirect("approvals:list")


@login_required
@require_POST
def refuse_selection(request):
    """« Refuser la sélection »: the list sends the ticked requests here; this page asks the reason, once for all."""
    selected = _selection(request)
    if not selected:
        messages.error(request, "Cochez au moins une demande dans la liste.")
        return redirect("approvals:list")
    # From the list, no reason was posted yet: show the form unbound, without errors.
    form = RefusalForm(request.POST if "reason" in request.POST else None)
    if form.is_valid():
        decided, already_decided = workflows.decide_many(
            selected, by=request.user, approve=False, reason=form.cleaned_data["reason"]
        )
        _report(request, decided, already_decided, "refusée")
        return redirect("approvals:list")
    return render(
        request,
        "approvals/refuse.html",
        {"nav": "approvals", "form": form, "selected": selected, "cancel_url": reverse("approvals:list")},
    )


@login_required
def my_attachments(request):
    """« Mes rattachements »: my structures and my requests, with « Retirer » on those still waiting."""
    return render(
        request,
        "approvals/my_attachments.html",
        {
            "nav": "organisation",
            "memberships": request.user.memberships.select_related("structure").order_by("structure__siret"),
            "requests": request.user.approval_requests.select_related("structure", "decided_by"),
        },
    )


@login_required
def request_attachment(request):
    """« Demander un rattachement »: find the structure by its SIRET, say a word, submit."""
    form = AttachmentRequestForm(posted(request)[0])
    if form.is_valid():
        if not throttling.allow(request, "attachment", who=f"user:{request.user.pk}"):
            form.add_error(None, THROTTLED)
        elif (structure := Structure.objects.filter(siret=form.cleaned_data["siret"]).first()) is None:
            form.add_error("siret", UNKNOWN_SIRET)
        else:
            try:
                workflows.request_attachment(
                    user=request.user, structure=structure, comment=form.cleaned_data["comment"]
                )
            except workflows.AlreadyAttached:
                form.add_error("siret", "Vous êtes déjà rattaché(e) à cette structure.")
            except workflows.AlreadyRequested:
                form.add_error("siret", "Vous avez déjà une demande de rattachement en attente pour cette structure.")
            else:
                messages.success(
                    request,
                    f"Votre demande de rattachement à la structure {structure.siret} est envoyée à son gestionnaire "
                    "principal. Vous recevrez un courriel dès qu'il l'aura traitée.",
                )
                return redirect("approvals:mine")
    return render(request, "approvals/request_attachment.html", {"nav": "organisation", "form": form})


@login_required
@require_POST
def withdraw(request, pk):
    approval_request = get_object_or_404(request.user.approval_requests.select_related("structure"), pk=pk)
    try:
        workflows.withdraw(approval_request)
    except workflows.AlreadyDecided:
        messages.info(request, workflows.AlreadyDecided.message)
    else:
        messages.success(
            request, f"Votre demande de rattachement à la structure {approval_request.structure.siret} est retirée."
        )
    return redirect("approvals:mine")
