from django.contrib import admin
from django.urls import include, path

from chorus import views

admin.site.site_header = "Chorus Pro TIC/TICGN – administration"
admin.site.site_title = "Chorus Pro TIC/TICGN"
admin.site.index_title = "Support et administration"

urlpatterns = [
    path("", views.home, name="home"),
    path("organisation/", views.organisation, name="organisation"),
    path("organisation/structures/", include("structures.urls")),
    path("", include("approvals.urls")),
    path("conditions-generales/", views.terms, name="terms"),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("compte/", include("accounts.urls")),
    path("captcha/", include("captcha.urls")),
    path("administration/", admin.site.urls),
]
