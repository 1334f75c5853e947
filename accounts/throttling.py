"""Sign-in lockouts: which account an attempt targets, and django-axes counting accounts and addresses apart.

Per-IP limits on the steps that send mail (sign-up, resend-activation, reset) are `chorus.throttling`'s.
"""

from dataclasses import dataclass
from datetime import datetime

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt, AccessFailureLog
from axes.signals import user_locked_out
from django.conf import settings
from django.db import connection

from accounts.models import User


def login_identity(request, credentials=None) -> str:
    """The account that a sign-in attempt targets, as stored: « Boss@X.fr » locks boss@x.fr."""
    if credentials and "username" in credentials:
        username = credentials["username"]
    else:
        username = getattr(request, "POST", {}).get(settings.AXES_USERNAME_FORM_FIELD, "")
    # Cut to what django-axes stores (255): an oversized sign-in is counted, not a database error.
    return User.objects.normalize_email(username)[:254]


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler, with accounts and addresses counted apart (AXES_HANDLER).

    Axes keeps one row of failures per account and address and, on a success, deletes every row
    its lockout parameters match: with the address among them, one right sign-in on an attacker's
    own account wiped the failures of every account guessed from that address. So axes' parameters
    name the account alone (a success clears that account's rows and nothing else), and this
    handler counts the address from axes' failure log: one row per failure, which no success
    deletes, against a limit of its own (LOCKOUT_IP_FAILURE_LIMIT) that an office of accountants
    behind one address lives with. Both counts are rows in the database, which every worker reads.
    """

    def is_locked(self, request, credentials=None) -> bool:
        """The account's failures (as axes counts them) and the address's, read in one query: it runs before every
        password and code is checked."""
        account, address = self._failure_counts(request, credentials)
        by_account = settings.AXES_LOCK_OUT_AT_FAILURE and account >= get_failure_limit(request, credentials)
        return by_account or address >= settings.LOCKOUT_IP_FAILURE_LIMIT

    def _failure_counts(self, request, credentials) -> tuple[int, int]:
        """(the account's failures within the cool-off, as axes sums them; the address's), in one query written out:
        it runs before every password and code is checked, and the ORM takes longer to build it than the database to
        answer. The account is axes' only lockout parameter (AXES_LOCKOUT_PARAMETERS)."""
        threshold = connection.ops.adapt_datetimefield_value(get_cool_off_threshold(request))
        # As the ORM would pass it: a scoped IPv6 address (fe80::1%eth0) loses its scope, which PostgreSQL refuses.
        address = AccessFailureLog._meta.get_field("ip_address").get_db_prep_value(request.axes_ip_address, connection)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT COALESCE(SUM(failures_since_start), 0) FROM axes_accessattempt"
                " WHERE username = %s AND attempt_time >= %s),"
                " (SELECT COUNT(*) FROM axes_accessfailurelog WHERE ip_address = %s AND attempt_time >= %s)",
                [get_client_username(request, credentials), threshold, address, threshold],
            )
            account, address = cursor.fetchone()
        return account, address

    def user_logged_in(self, sender, request, user, **kwargs):
        """Nothing to write for a success: no access log (AXES_DISABLE_ACCESS_LOG), and the account's failures are
        cleared once the second factor passes too (AXES_RESET_ON_SUCCESS off). Axes would also delete every account's
        expired failures here; each failure does that already, and expired ones are never counted."""
        if not settings.AXES_DISABLE_ACCESS_LOG or settings.AXES_RESET_ON_SUCCESS:
            super().user_logged_in(sender, request, user, **kwargs)

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        # Already locked (refused unchecked, or by the account's count): told once, as axes does.
        if request is None or request.axes_locked_out or not address_is_locked(request):
            return
        request.axes_locked_out = True
        request.axes_credentials = credentials
        username = get_client_username(request, credentials)
        user_locked_out.send("axes", request=request, username=username, ip_address=request.axes_ip_address)


def _address_failures(request):
    """The failures from the visitor's address within the cool-off, newest first."""
    return AccessFailureLog.objects.filter(
        ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
    ).order_by("-attempt_time")


def address_is_locked(request) -> bool:
    return _address_failures(request).count() >= settings.LOCKOUT_IP_FAILURE_LIMIT


@dataclass(frozen=True)
class Lockout:
    """What the lockout page tells: the account, the address or both are locked, until when."""

    account: bool
    address: bool
    until: datetime | None


def current_lockout(request, credentials=None) -> Lockout:
    """The lockout that refused this request, and when it lifts.

    Attempts made while locked are neither checked nor counted (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT
    off), so the end is known: when enough of the failures that set it have left the cool-off.
    """
    account_ends, address_ends = _account_lock_end(request, credentials), _address_lock_end(request)
    ends = [end for end in (account_ends, address_ends) if end is not None]
    return Lockout(account=account_ends is not None, address=address_ends is not None, until=max(ends, default=None))


def _account_lock_end(request, credentials) -> datetime | None:
    """Axes counts a row (one per address) whole while its latest failure is within the cool-off."""
    attempts = AccessAttempt.objects.filter(
        username=get_client_username(request, credentials), attempt_time__gte=get_cool_off_threshold(request)
    ).order_by("-attempt_time")
    counted = 0
    for attempt_time, failures in attempts.values_list("attempt_time", "failures_since_start"):
        counted += failures
        if counted >= get_failure_limit(request, credentials):
            return attempt_time + get_cool_off(request)
    return None


def _address_lock_end(request) -> datetime | None:
    """The address is locked until the oldest of its last LOCKOUT_IP_FAILURE_LIMIT failures leaves the cool-off."""
    limit = settings.LOCKOUT_IP_FAILURE_LIMIT
    oldest = list(_address_failures(request).values_list("attempt_time", flat=True)[limit - 1 : limit])
    return oldest[0] + get_cool_off(request) if oldest else None
