"""Writing the audit trail: `record()` from any step, the request's address supplied by the middleware."""

from contextvars import ContextVar

from audit.models import Action, AuditEvent
from chorus.throttling import client_ip

_request = ContextVar("audit_request", default=None)


class AuditMiddleware:
    """Makes the current request (its user and address) known to `record()`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def record(action: Action, *, actor=None, actor_label: str = "", structure=None, target: str = "", **details):
    """One audit row. The actor defaults to the signed-in user; the address is the request's, if any.

    Called inside the step's transaction: a step that rolls back leaves no row.
    """
    request = _request.get()
    user = getattr(request, "user", None)
    if actor is None and user is not None and user.is_authenticated:
        actor = user
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        actor_label=(actor_label or (actor.email if actor is not None else ""))[:254],
        ip=(client_ip(request) or None) if request is not None else None,
        structure=structure,
        structure_label=structure.name_and_siret[:300] if structure is not None else "",
        target=target[:300],
        details=details,
    )
