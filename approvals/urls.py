from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("approbations/", views.approval_list, name="approval_list"),
    path("approbations/<int:pk>/", views.approval_detail, name="approval_detail"),
    path("approbations/<int:pk>/approuver/", views.approve, name="approve"),
    path("approbations/<int:pk>/refuser/", views.refuse, name="refuse"),
    path("approbations/selection/approuver/", views.approve_selection, name="approve_selection"),
    path("approbations/selection/refuser/", views.refuse_selection, name="refuse_selection"),
    path("organisation/rattachements/", views.my_memberships, name="my_memberships"),
    path("organisation/rattachements/demander/", views.request_attachment, name="request_attachment"),
    path("organisation/creer-une-structure/", views.structure_create, name="structure_create"),
    path("organisation/rattachements/<int:pk>/retirer/", views.withdraw, name="withdraw"),
]
