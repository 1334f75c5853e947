from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from structures.models import Membership, Structure


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["user"]


@admin.register(Structure)
class StructureAdmin(SimpleHistoryAdmin):
    list_display = ["siret", "name", "status", "created_at"]
    list_filter = ["status"]
    search_fields = ["siret", "name"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(SimpleHistoryAdmin):
    list_display = ["user", "structure", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "structure__siret", "structure__name"]
    list_select_related = ["user", "structure"]
    autocomplete_fields = ["user", "structure"]
