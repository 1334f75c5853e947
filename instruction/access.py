"""Who may open /instruction/, and which requests they see there.

An instructor is an active staff member in the « Instructeurs » group with at least one département; they
see the requests filed in those départements, and nothing else: another département's request answers 404,
as if it did not exist. The pages also ask that the session's second factor was an application, a security
key or a recovery code (`twofactor.devices.opens_admin`), as the admin does: never the e-mail code alone.
"""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, Q
from django.shortcuts import render
from django.urls import reverse

from instruction.models import GROUP, InstructorDepartement
from refunds.models import PaymentBatch, RefundRequest
from twofactor.devices import has_strong_device, opens_admin


def departements_of(user) -> list[str]:
    """The départements the user instructs: none unless they are an active staff member of the group."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return []
    if not user.groups.filter(name=GROUP).exists():
        return []
    return list(InstructorDepartement.objects.filter(instructor__user=user).values_list("code", flat=True))


def requests_in(departements):
    """The sent requests of these départements: an instructor's page passes `request.departements`, which
    `instructor_required` read for it."""
    return RefundRequest.objects.exclude(status=RefundRequest.Status.DRAFT).filter(departement__in=departements)


def work_of(user) -> dict | None:
    """What waits for an instructor, for their home page: requests to take, and those they took; None for anyone
    who is not an instructor. The counts in one query, after the instructor's départements."""
    codes = departements_of(user)
    if not codes:
        return None
    sent = RefundRequest.objects.exclude(status=RefundRequest.Status.DRAFT).filter(departement__in=codes)
    return sent.aggregate(
        to_take=Count("pk", filter=Q(status=RefundRequest.Status.FILED)),
        mine=Count("pk", filter=Q(status=RefundRequest.Status.IN_REVIEW, assigned_to=user)),
    )


def batches_in(departements):
    """The payment batches whose every request lies in these départements."""
    # EXISTS, not IN: PostgreSQL reads each batch's requests by index (refund_request_batch) instead of every request
    # ever paid (17 s for a million requests, 5,784 batches).
    requests = RefundRequest.objects.filter(payment_batch=OuterRef("pk"))
    outside = requests.exclude(departement__in=departements)
    return PaymentBatch.objects.filter(Exists(requests)).exclude(Exists(outside))


def instructor_required(view):
    """Signed in (else the sign-in page), an instructor (else 403), with a strong second factor (else a page that
    says so, 403, and leads to the step up).

    The view receives `request.departements`, the codes the user instructs.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        codes = departements_of(user)
        if not codes:
            raise PermissionDenied
        if not opens_admin(user):
            # Signed in with the e-mail code: said why, with the way to a stronger device (or to add one).
            next_url = request.get_full_path() if request.method == "GET" else reverse("instruction:queue")
            verify_url = f"{reverse('twofactor:verify')}?{urlencode({'next': next_url})}&renforcer=1"
            context = {"verify_url": verify_url, "has_strong_device": has_strong_device(user)}
            return render(request, "instruction/second_factor_required.html", context, status=403)
        request.departements = codes
        return view(request, *args, **kwargs)

    return wrapper
