"""The admin site: its index opens on what needs support's attention. Imports no app of ours."""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import QueryDict
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class DashboardItem:
    label: str
    url: str
    detail: str = ""


@dataclass(frozen=True)
class DashboardPanel:
    """One line of the admin index's « À traiter » block: how many, a link to them, the first few."""

    title: str
    count: int
    url: str
    items: list[DashboardItem] = field(default_factory=list)


def _next(url: str) -> str:
    """« next=/administration/… », as Django's redirect_to_login writes it."""
    query = QueryDict(mutable=True)
    query["next"] = url
    return query.urlencode(safe="/")


class PortalAdminSite(admin.AdminSite):
    def has_permission(self, request):
        """Active staff, verified by a device that opens the admin (ADMIN_SECOND_FACTOR_CHECK): never the
        e-mail code, which whoever holds the mailbox receives."""
        return super().has_permission(request) and import_string(settings.ADMIN_SECOND_FACTOR_CHECK)(request.user)

    def login(self, request, extra_context=None):
        """One sign-in for everyone, the portal's (password, then second factor); staff verified by the e-mail
        code are told what the admin asks for instead."""
        next_url = request.GET.get("next") or reverse("admin:index")
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{resolve_url(settings.LOGIN_URL)}?{_next(next_url)}")
        if self.has_permission(request):
            return redirect(next_url)
        if not (user.is_active and user.is_staff):
            return render(request, "admin/staff_only.html", status=403)
        return render(
            request,
            "admin/second_factor_required.html",
            {"verify_url": f"{reverse('twofactor:verify')}?{_next(next_url)}&renforcer=1", "next": next_url},
            status=403,
        )

    def index(self, request, extra_context=None):
        """Each ModelAdmin with a `dashboard_panel(request)` adds its panel, for staff who may view its model."""
        panels = [
            model_admin.dashboard_panel(request)
            for model_admin in self._registry.values()
            if hasattr(model_admin, "dashboard_panel") and model_admin.has_view_permission(request)
        ]
        return super().index(request, {"dashboard": panels, **(extra_context or {})})

    def password_change(self, request, extra_context=None):
        """Staff change their password on the portal's page (PASSWORD_CHANGE_URL), not the admin's.

        The admin's form checks the current password with `check_password`, which
        no lockout counts and no audit row records: a stolen staff session could
        guess there forever. Nothing posted here is read.
        """
        return redirect(settings.PASSWORD_CHANGE_URL)


class PortalAdminConfig(AdminConfig):
    """Django's admin app, on the portal's site (INSTALLED_APPS names this class)."""

    default_site = "chorus.sites.PortalAdminSite"
