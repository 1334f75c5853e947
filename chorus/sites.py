"""The admin site: its index opens on what needs support's attention. Imports no app of ours."""

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect


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


class PortalAdminSite(admin.AdminSite):
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
