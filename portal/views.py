from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.checklist import steps_for
from portal.context_processors import pending_count


def home(request):
    """The landing page for visitors; the domains and the memento's checklist once signed in."""
    if not request.user.is_authenticated:
        return render(request, "portal/welcome.html", {"nav": "home"})
    steps = steps_for(request.user, waiting=pending_count(request))
    return render(
        request,
        "portal/home.html",
        {"nav": "home", "steps": steps, "steps_left": sum(not step.done for step in steps)},
    )


@login_required
def organisation(request):
    """The « Organisation » domain: structures, and what comes with them."""
    return render(request, "portal/organisation.html", {"nav": "organisation"})


def terms(request):
    return render(request, "portal/terms.html", {"terms_version": settings.TERMS_VERSION})


def accessibility(request):
    return render(request, "portal/accessibility.html")
