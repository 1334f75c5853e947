"""Third-party admin pages held to the portal's rules: no mail re-sent, nothing deleted, without the permission."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from post_office.admin import EmailAdmin
from post_office.models import STATUS, Email


class ReadOnlyAdminMixin:
    """Staff look; nothing is added, changed or deleted from the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PortalEmailAdmin(EmailAdmin):
    """django-post-office's mail admin: who was sent what and whether it left, never the body.

    Activation and reset mails carry live links: a staff member reading one, or
    changing its recipient and sending it again, would hold the account. So the
    body, its preview and its images are not shown, every field is read-only,
    and re-sending needs the change permission and a POST.
    """

    actions = ["requeue"]
    shown = ["message_id", "from_email", "to", "cc", "bcc", "subject", "priority", "status", "scheduled_time"]
    readonly_fields = [*shown, "created", "last_updated"]
    fieldsets = [(None, {"fields": [*shown, "created", "last_updated"]})]

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets

    def get_urls(self):
        hidden = {"post_office_email_preview", "post_office_email_image"}
        return [url for url in super().get_urls() if getattr(url, "name", None) not in hidden]

    @admin.action(description="Remettre en file d'envoi", permissions=["change"])
    def requeue(self, request, queryset):
        count = queryset.update(status=STATUS.queued)
        self.message_user(request, f"{count} courriel(s) remis en file d'envoi.")

    def resend(self, request, pk):
        self._get_object_or_deny(request, pk, "change")
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:post_office_email_change", args=[pk]))
        return super().resend(request, pk)


class PortalAccessAttemptAdmin(AccessAttemptAdmin):
    """django-axes' lockouts; its clean-up action failed outside a sign-in and needed no permission."""

    @admin.action(description="Supprimer les tentatives expirées", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        # django-axes reads the time of the attempt being made, which only a sign-in sets.
        request.axes_attempt_time = None
        return super().cleanup_expired_attempts(request, queryset)


for model, model_admin in [(Email, PortalEmailAdmin), (AccessAttempt, PortalAccessAttemptAdmin)]:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
