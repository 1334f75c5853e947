from django.urls import path

from structures import views

app_name = "structures"

urlpatterns = [
    path("", views.structure_list, name="structure_list"),
    path("gerer/", views.structure_manage, name="structure_manage"),
    path("<int:pk>/", views.structure_detail, name="structure_detail"),
    path("<int:pk>/modifier/", views.structure_update, name="structure_update"),
    path("<int:pk>/repertoire-sirene/", views.structure_sirene, name="structure_sirene"),
    path("<int:pk>/utilisateurs/", views.structure_users, name="structure_users"),
    path("<int:pk>/utilisateurs/<int:membership_pk>/detacher/", views.membership_detach, name="membership_detach"),
    path("<int:pk>/gestionnaire-principal/", views.main_manager_hand_over, name="main_manager_hand_over"),
    path("coordonnees-bancaires/creer/", views.bank_account_create, name="bank_account_create"),
    path("coordonnees-bancaires/bic/", views.bic_lookup, name="bic_lookup"),
    path("coordonnees-bancaires/<int:pk>/", views.bank_account_detail, name="bank_account_detail"),
    path("coordonnees-bancaires/<int:pk>/modifier/", views.bank_account_update, name="bank_account_update"),
    path(
        "coordonnees-bancaires/<int:pk>/par-defaut/",
        views.bank_account_make_default,
        name="bank_account_make_default",
    ),
    path("coordonnees-bancaires/<int:pk>/supprimer/", views.bank_account_delete, name="bank_account_delete"),
    path("coordonnees-bancaires/<int:pk>/rib/", views.rib_download, name="rib_download"),
]
