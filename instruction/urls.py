"""The tax office's pages, under /instruction/: instructors of the request's département only."""

from django.urls import path

from instruction import dashboard_views, payment_views, views

app_name = "instruction"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("demandes/<int:pk>/", views.request_detail, name="request_detail"),
    path("demandes/<int:pk>/prendre-en-charge/", views.take, name="take"),
    path("demandes/<int:pk>/complement/", views.request_information, name="request_information"),
    path("demandes/<int:pk>/accepter/", views.accept, name="accept"),
    path("demandes/<int:pk>/rejeter/", views.reject, name="reject"),
    path("demandes/<int:pk>/lignes/<int:line_pk>/facture/", views.invoice_download, name="invoice_download"),
    path(
        "demandes/<int:pk>/lignes-modifiees/<int:history_id>/facture/",
        views.replaced_invoice_download,
        name="replaced_invoice_download",
    ),
    path("demandes/<int:pk>/rib/", views.rib_download, name="rib_download"),
    path("paiements/", payment_views.payments, name="payments"),
    path("paiements/lots/<int:pk>/", payment_views.batch_detail, name="batch_detail"),
    path("paiements/lots/<int:pk>/virements.xml", payment_views.batch_download, name="batch_download"),
    path("paiements/lots/<int:pk>/payee/", payment_views.mark_paid, name="mark_paid"),
    path("tableau-de-bord/", dashboard_views.dashboard, name="dashboard"),
    path("tableau-de-bord.csv", dashboard_views.dashboard_export, name="dashboard_export"),
]
