from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Chorus Pro TIC/TICGN – administration"
admin.site.site_title = "Chorus Pro TIC/TICGN"
admin.site.index_title = "Support et administration"

urlpatterns = [
    path("", include("portal.urls")),
    path("organisation/structures/", include("structures.urls")),
    path("", include("approvals.urls")),
    path("facturation/remboursement-de-taxes/", include("refunds.urls")),
    path("instruction/", include("instruction.urls")),
    path("compte/", include("accounts.urls")),
    path("compte/double-authentification/", include("twofactor.urls")),
    path("captcha/", include("accounts.captcha")),
    path("administration/", admin.site.urls),
]
