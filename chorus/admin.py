"""Third-party admin pages held to the portal's rules: no mail re-sent, nothing deleted, without the permission.

They speak French too: django-post-office ships no French catalogue, so locale/fr
translates its labels, and the few fields it leaves unnamed are named here.
"""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from post_office.admin import EmailAdmin, EmailTemplateAdmin, LogInline
from post_office.models import STATUS, Attachment, Email, EmailTemplate

# post_office gives these fields no verbose name, so there is nothing to translate: the label
# Django makes from the field's name (« last updated ») is English. Only the label changes:
# migrations read the name the model was declared with, so no migration follows from this.
UNNAMED_FIELDS = {
    (Email, "message_id"): "identifiant du message",
    (Email, "created"): "créé le",
    (Email, "last_updated"): "dernière modification",
    (Email, "number_of_retries"): "nombre de tentatives",
    (EmailTemplate, "created"): "créé le",
    (EmailTemplate, "last_updated"): "dernière modification",
    (Attachment, "mimetype"): "type de fichier",
}
for (model, name), label in UNNAMED_FIELDS.items():
    model._meta.get_field(name).verbose_name = label


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
    # The portal's mails use no post_office template and carry no attachment (chorus.mail):
    # those columns, filters and the attachments block would only ever be empty.
    list_display = [
        "truncated_message_id",
        "to_display",
        "shortened_subject",
        "status",
        "last_updated",
        "scheduled_time",
    ]
    list_filter = ["status"]
    inlines = [LogInline]
    shown = ["message_id", "from_email", "to", "cc", "bcc", "subject", "priority", "status", "scheduled_time"]
    readonly_fields = [*shown, "created", "last_updated"]
    fieldsets = [(None, {"fields": [*shown, "created", "last_updated"]})]

    def get_fieldsets(self, request, obj=None):
        return self.fieldsets

    @admin.display(description="identifiant du message")
    def truncated_message_id(self, instance):
        return super().truncated_message_id(instance)

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


class PortalEmailTemplateAdmin(EmailTemplateAdmin):
    """post_office's templates, which the portal does not use: its mails are written in French only.

    The per-language variants and their list of languages, named in English, are not offered.
    """

    inlines = ()
    list_display = ("name", "description_shortened", "subject", "created")


class PortalAccessAttemptAdmin(AccessAttemptAdmin):
    """django-axes' lockouts, in French; its clean-up action failed outside a sign-in and needed no permission."""

    @admin.action(description="Supprimer les tentatives expirées", permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        # django-axes reads the time of the attempt being made, which only a sign-in sets.
        request.axes_attempt_time = None
        count = self.handler.clean_expired_user_attempts(request=request)
        self.message_user(request, f"{count} tentative(s) expirée(s) supprimée(s).")

    @admin.display(description="état")
    def status(self, attempt):
        """How many tries are left before the lockout, or that it is on (django-axes says it in English)."""
        left = settings.AXES_FAILURE_LIMIT - attempt.failures_since_start
        return f"{left} essai(s) restant(s)" if left > 0 else "bloqué"


for model, model_admin in [
    (Email, PortalEmailAdmin),
    (EmailTemplate, PortalEmailTemplateAdmin),
    (AccessAttempt, PortalAccessAttemptAdmin),
]:
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
