from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from chorus import downloads, reauth
from chorus.forms import posted
from sirene import directory as sirene
from structures import workflows
from structures.forms import (
    BankAccountForm,
    BankAccountUpdateForm,
    HandOverForm,
    ManageStructureForm,
    SireneComparisonForm,
    StructureForm,
)
from structures.models import BankAccount, Membership, Structure
from structures.validators import clean_iban


@login_required
def structure_list(request):
    """« Structures »: the applications, my structures with their bank details.

    The page ends with my attachment requests still pending, which the approvals
    app adds to it (its `pending_requests_of` template tag).
    """
    memberships = (
        Membership.objects.filter(user=request.user)
        .select_related("structure")
        .prefetch_related("structure__bank_accounts")
        .order_by("structure__siret")
    )
    return render(
        request,
        "structures/structure_list.html",
        {
            "nav": "organisation",
            "memberships": memberships,
            "manages_any": any(membership.is_manager for membership in memberships),
        },
    )


@login_required
def structure_manage(request):
    """« Gérer une structure »: the request type, then « Créer une structure » (the approvals app's page: it may
    file a request) or the chosen structure's form. A link may preselect the type (`?request_type=create`)."""
    if ManageStructureForm.is_sent(request.GET):
        form = ManageStructureForm(request.user, request.GET)
    else:
        preselected = request.GET.get("request_type")
        types = {ManageStructureForm.CREATE, ManageStructureForm.MODIFY}
        form = ManageStructureForm(request.user, initial={"request_type": preselected} if preselected in types else {})
    if form.is_bound and form.is_valid():
        if form.cleaned_data["request_type"] == ManageStructureForm.CREATE:
            return redirect("approvals:structure_create")
        return redirect("structures:structure_update", pk=form.cleaned_data["structure"].pk)
    return render(request, "structures/structure_manage.html", {"nav": "organisation", "form": form})


@login_required
def structure_detail(request, pk):
    """A structure, read-only, for anyone attached to it."""
    structure = get_object_or_404(Structure.objects.visible_to(request.user), pk=pk)
    is_manager = structure.is_managed_by(request.user)
    return render(
        request,
        "structures/structure_detail.html",
        {
            "nav": "organisation",
            "structure": structure,
            "is_manager": is_manager,
            "address_shown": structure.address_shown_to(request.user, is_manager=is_manager),
            "bank_accounts": structure.bank_accounts.all(),
            "changes": structure.recent_changes() if is_manager else [],
        },
    )


@login_required
def structure_update(request, pk):
    """« Modifier une structure », for its managers only; the password is asked again, as for bank details."""
    structure = get_object_or_404(Structure.objects.managed_by(request.user), pk=pk)
    if not reauth.is_recent(request):
        return reauth.ask(request)
    had_refund_information = bool(structure.beneficiary_category or structure.pacage)
    form = StructureForm(request.POST if request.method == "POST" else None, instance=structure, by=request.user)
    if request.method == "POST" and form.is_valid():
        if form.save():
            messages.success(
                request,
                "Les modifications de la structure sont enregistrées. Ses gestionnaires en sont informés par courriel.",
            )
        else:
            messages.info(request, "Aucune information de la structure n'a changé.")
        if had_refund_information and structure.is_agricultural_centre:
            messages.info(
                request,
                "La structure est déclarée centre de gestion agricole : sa catégorie de bénéficiaire et son numéro "
                "PACAGE ont été effacés. Décochez la case si ce n'est pas le cas.",
            )
        return redirect("structures:structure_update", pk=structure.pk)
    manage_form = ManageStructureForm(request.user, initial={"structure": structure.pk})
    return render(
        request,
        "structures/structure_update.html",
        {
            "nav": "organisation",
            "structure": structure,
            "form": form,
            "manage_form": manage_form,
            "changes": structure.recent_changes(),
            "sirene_loaded": sirene.stock_in_service() is not None,
        },
    )


@login_required
def structure_sirene(request, pk):
    """« Comparer avec le répertoire SIRENE », for the structure's managers, the password asked again as for
    « Modifier une structure »: each difference, and the directory's values the manager ticks are taken."""
    structure = get_object_or_404(Structure.objects.managed_by(request.user), pk=pk)
    listing = sirene.look_up(structure.siret)
    if listing is None:
        raise Http404("Aucun répertoire SIRENE n'est chargé.")
    if not reauth.is_recent(request):
        return reauth.ask(request)
    form = SireneComparisonForm(structure, listing, posted(request)[0], by=request.user)
    if request.method == "POST" and form.differences and form.is_valid():
        form.save()
        messages.success(
            request,
            "Les informations cochées sont reprises du répertoire SIRENE. Les gestionnaires de la structure en sont "
            "informés par courriel.",
        )
        return redirect("structures:structure_update", pk=structure.pk)
    return render(
        request,
        "structures/structure_sirene.html",
        {"nav": "organisation", "structure": structure, "listing": listing, "form": form},
    )


@login_required
def bank_account_create(request):
    """« Créer une coordonnée bancaire »."""
    if not Structure.objects.managed_by(request.user).exists():
        raise Http404("Vous ne gérez aucune structure.")
    if not reauth.is_recent(request):
        return reauth.ask(request)
    form = BankAccountForm(
        request.user,
        *posted(request),
        initial={"structure": request.GET.get("structure")},
    )
    if request.method == "POST" and form.is_valid() and (bank_account := form.save()) is not None:
        messages.success(
            request,
            f"La coordonnée bancaire « {bank_account.label} » est enregistrée. Les gestionnaires de la "
            "structure en sont informés par courriel.",
        )
        return redirect("structures:bank_account_detail", pk=bank_account.pk)
    return render(request, "structures/bank_account_create.html", {"nav": "organisation", "form": form})


@login_required
@require_POST
def bic_lookup(request):
    """The BIC of the IBAN's bank when schwifty knows it, for the form's proposal (public registry data)."""
    try:
        bic = clean_iban(request.POST.get("iban", "")[:50]).bic
    except ValidationError:
        bic = None
    return JsonResponse({"bic": str(bic) if bic else ""})


@login_required
def bank_account_detail(request, pk):
    bank_account = get_object_or_404(
        BankAccount.objects.visible_to(request.user).select_related("structure", "created_by"), pk=pk
    )
    return render(
        request,
        "structures/bank_account_detail.html",
        {
            "nav": "organisation",
            "bank_account": bank_account,
            "is_manager": bank_account.structure.is_managed_by(request.user),
        },
    )


@login_required
def bank_account_update(request, pk):
    """Rename the account or replace its RIB."""
    bank_account = get_object_or_404(BankAccount.objects.managed_by(request.user).select_related("structure"), pk=pk)
    if not reauth.is_recent(request):
        return reauth.ask(request)
    form = BankAccountUpdateForm(bank_account, *posted(request), by=request.user)
    if request.method == "POST" and form.is_valid() and (changes := form.save()) is not None:
        if changes:
            messages.success(
                request, "La coordonnée bancaire est modifiée. Les gestionnaires en sont informés par courriel."
            )
        return redirect("structures:bank_account_detail", pk=bank_account.pk)
    return render(
        request,
        "structures/bank_account_update.html",
        {"nav": "organisation", "bank_account": bank_account, "form": form},
    )


@login_required
@require_POST
def bank_account_make_default(request, pk):
    bank_account = get_object_or_404(BankAccount.objects.managed_by(request.user).select_related("structure"), pk=pk)
    if not reauth.is_recent(request):
        return reauth.ask(request, bank_account.get_absolute_url())
    workflows.make_default(bank_account, by=request.user)
    messages.success(
        request, f"« {bank_account.label} » est désormais la coordonnée bancaire par défaut de la structure."
    )
    return redirect("structures:bank_account_detail", pk=bank_account.pk)


@login_required
def bank_account_delete(request, pk):
    bank_account = get_object_or_404(BankAccount.objects.managed_by(request.user).select_related("structure"), pk=pk)
    if not reauth.is_recent(request):
        return reauth.ask(request)
    if request.method == "POST":
        try:
            workflows.delete_bank_account(bank_account, by=request.user)
        except workflows.DefaultAccountInUse:
            messages.error(
                request,
                "C'est la coordonnée bancaire par défaut : choisissez d'abord une autre coordonnée par défaut, "
                "puis supprimez celle-ci.",
            )
            return redirect("structures:bank_account_detail", pk=bank_account.pk)
        messages.success(request, f"La coordonnée bancaire « {bank_account.label} » est supprimée.")
        return redirect("structures:structure_detail", pk=bank_account.structure_id)
    return render(request, "structures/bank_account_delete.html", {"nav": "organisation", "bank_account": bank_account})


@login_required
def rib_download(request, pk):
    """The RIB, as an attachment, to managers of its structure and to staff allowed to see bank details.

    A simple user of the structure sees the account, IBAN masked: they are told why the file is not theirs.
    """
    downloadable = BankAccount.objects.rib_downloadable_by(request.user).select_related("structure")
    bank_account = downloadable.filter(pk=pk).first()
    if bank_account is None:
        get_object_or_404(BankAccount.objects.visible_to(request.user), pk=pk)
        raise PermissionDenied(
            "Seuls les gestionnaires de la structure téléchargent le RIB : il montre l'IBAN en entier."
        )
    return downloads.attachment(
        bank_account.rib,
        bank_account.rib_download_name,
        bank_account.rib_content_type,
        missing="Le fichier du RIB est introuvable.",
    )


def _managing(request, pk) -> Membership:
    """The signed-in user's membership of structure `pk`, as one of its managers (else 404)."""
    return get_object_or_404(
        Membership.objects.filter(user=request.user).managers().select_related("structure"),
        structure__pk=pk,  # range-checked, unlike structure_id: a huge id is a 404
    )


@login_required
def structure_users(request, pk):
    """« Utilisateurs de la structure »: who is attached, their role and since when."""
    mine = _managing(request, pk)
    memberships = list(
        mine.structure.memberships.select_related("user").order_by(Membership.ROLE_ORDER, "user__last_name")
    )
    return render(
        request,
        "structures/structure_users.html",
        {
            "nav": "organisation",
            "structure": mine.structure,
            "mine": mine,
            "memberships": memberships,
            "detachable": {membership.pk for membership in memberships if mine.may_detach(membership)},
        },
    )


@login_required
def membership_detach(request, pk, membership_pk):
    """« Détacher » a user who left: a confirmation page, then the POST."""
    mine = _managing(request, pk)
    membership = get_object_or_404(mine.structure.memberships.select_related("user"), pk=membership_pk)
    if not mine.may_detach(membership):
        raise PermissionDenied("Seul le gestionnaire principal détache un gestionnaire.")
    if request.method == "POST":
        try:
            workflows.detach(membership, by=request.user)
        except workflows.MembershipChanged:
            messages.info(request, "Ce rattachement a changé entre-temps : rien n'a été modifié.")
        else:
            messages.success(
                request,
                f"{membership.user.get_full_name()} n'est plus rattaché(e) à la structure et en est informé(e) par "
                "courriel.",
            )
        return redirect("structures:structure_users", pk=pk)
    return render(
        request,
        "structures/membership_detach.html",
        {"nav": "organisation", "structure": mine.structure, "membership": membership},
    )


@login_required
def main_manager_hand_over(request, pk):
    """Hand the main-manager role over: choose, confirm (GET), then POST; the password is asked again."""
    mine = _managing(request, pk)
    if not mine.is_main_manager:
        raise PermissionDenied("Seul le gestionnaire principal transmet son rôle.")
    if not reauth.is_recent(request):
        return reauth.ask(request)
    # « Continuer » (GET) shows the choice for confirmation; the handover itself is a POST.
    chosen = request.POST if request.method == "POST" else request.GET if "continuer" in request.GET else None
    form = HandOverForm(mine.structure, chosen, by=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            new = form.save()
        except workflows.MembershipChanged:
            messages.info(request, "Les rôles de la structure ont changé entre-temps : rien n'a été modifié.")
        else:
            messages.success(
                request,
                f"{new.user.get_full_name()} est désormais gestionnaire principal de la structure ; vous en restez "
                "gestionnaire. Vous en êtes tous deux informés par courriel.",
            )
        return redirect("structures:structure_users", pk=pk)
    return render(
        request,
        "structures/main_manager_hand_over.html",
        {
            "nav": "organisation",
            "structure": mine.structure,
            "form": form,
            "confirm": form.cleaned_data["membership"] if form.is_bound and form.is_valid() else None,
        },
    )
