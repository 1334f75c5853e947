"""The site's own pages: the home page, the « Organisation » domain, the conditions and accessibility pages.

Their URL names stay un-namespaced (`home`, `organisation`, `terms`, `accessibility`): every template uses them.
"""

from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("organisation/", views.organisation, name="organisation"),
    path("conditions-generales/", views.terms, name="terms"),
    path("accessibilite/", views.accessibility, name="accessibility"),
]
