"""« Remboursement de taxes », under /facturation/remboursement-de-taxes/."""

from django.urls import path

from refunds import import_views, receipt_views, views

app_name = "refunds"
urlpatterns = [
    path("", views.index, name="index"),
    path("saisir/", views.request_start, name="request_start"),
    path("demandes/", views.request_list, name="request_list"),
    path("demandes/<int:pk>/", views.request_detail, name="request_detail"),
    path("demandes/<int:pk>/supprimer/", views.request_delete, name="request_delete"),
    path("demandes/<int:pk>/envoyer/", views.request_send, name="request_send"),
    path("demandes/<int:pk>/lignes/ajouter/", views.line_add, name="line_add"),
    path("demandes/<int:pk>/lignes/<int:line_pk>/modifier/", views.line_update, name="line_update"),
    path("demandes/<int:pk>/lignes/<int:line_pk>/supprimer/", views.line_delete, name="line_delete"),
    path("demandes/<int:pk>/lignes/<int:line_pk>/facture/", views.invoice_attach, name="invoice_attach"),
    path(
        "demandes/<int:pk>/lignes/<int:line_pk>/facture/telecharger/", views.invoice_download, name="invoice_download"
    ),
    path("demandes/<int:pk>/importer/", import_views.lines_import, name="lines_import"),
    path("modele-import-lignes.csv", import_views.import_template, name="import_template"),
    path("demandes/<int:pk>/accuse-de-depot.pdf", receipt_views.receipt, name="receipt"),
]
