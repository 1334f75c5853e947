"""The admin site: its index opens on what needs support's attention. Imports no app of ours."""

from dataclasses import dataclass, field

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


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


class PortalAdminConfig(AdminConfig):
    """Django's admin app, on the portal's site (INSTALLED_APPS names this class)."""

    default_site = "chorus.sites.PortalAdminSite"
