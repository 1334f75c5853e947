"""The site's own pages: the home page, the domain pages, the conditions and accessibility pages.

The first ones' URL names stay un-namespaced (`home`, `organisation`, `terms`, `accessibility`): every template
uses them. The pages added with refunds are under `portal:` (`portal:billing`, `portal:portfolio_export`).
"""

from django.urls import include, path

from portal import views

portal_patterns = [
    path("facturation/", views.billing, name="billing"),
    path("portefeuille.csv", views.portfolio_export, name="portfolio_export"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("organisation/", views.organisation, name="organisation"),
    path("conditions-generales/", views.terms, name="terms"),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("", include((portal_patterns, "portal"))),
]
