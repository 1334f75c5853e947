"""Instructors and their départements, in the admin.

Who instructs which département decides who sees whose bank details and who pays: superusers name them (no
group holds these permissions), and put the account in the « Instructeurs » group, which the list shows.
"""

from django.contrib import admin

from instruction.models import GROUP, Instructor, InstructorDepartement


class InstructorDepartementInline(admin.TabularInline):
    model = InstructorDepartement
    extra = 1
    min_num = 1


@admin.register(Instructor)
class InstructorAdmin(admin.ModelAdmin):
    list_display = ["__str__", "departement_list", "in_group"]
    search_fields = ["user__email", "user__last_name", "user__first_name"]
    list_filter = ["departements__code"]
    autocomplete_fields = ["user"]
    inlines = [InstructorDepartementInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("departements", "user__groups")

    @admin.display(description="départements")
    def departement_list(self, instructor):
        return ", ".join(area.code for area in instructor.departements.all())

    @admin.display(description="dans le groupe « Instructeurs »", boolean=True)
    def in_group(self, instructor):
        return any(group.name == GROUP for group in instructor.user.groups.all())
