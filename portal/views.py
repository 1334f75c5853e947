from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from portal.checklist import home_for
from portal.context_processors import ManagerSummary


def home(request):
    """The landing page for visitors; the domains and the checklist of the reader's case once signed in."""
    if not request.user.is_authenticated:
        return render(request, "portal/welcome.html", {"nav": "home"})
    home = home_for(request.user, portfolio_page=request.GET.get("page"))
    if home.portfolio is None:
        # Every structure the user manages is on the page, with its waiting requests: the menu needs no query.
        request._manager_summary = ManagerSummary(bool(home.managed), home.waiting)
    return render(request, "portal/home.html", {"nav": "home", "home": home})


@login_required
def organisation(request):
    """The « Organisation » domain: structures, and what comes with them."""
    return render(request, "portal/organisation.html", {"nav": "organisation"})


def terms(request):
    return render(request, "portal/terms.html", {"terms_version": settings.TERMS_VERSION})


def accessibility(request):
    return render(request, "portal/accessibility.html")
