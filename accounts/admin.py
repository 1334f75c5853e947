from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.utils.html import format_html_join
from django.utils.timezone import localtime
from post_office.models import STATUS, Email

from accounts import workflows
from accounts.models import User
from audit.log import record
from audit.models import Action
from structures.admin import MembershipAdminForm
from structures.models import Membership

MAIL_STATUS = {
    STATUS.sent: "envoyé",
    STATUS.failed: "échec",
    STATUS.queued: "en attente d'envoi",
    STATUS.requeued: "nouvel essai prévu",
}


class MembershipInline(admin.TabularInline):
    model = Membership
    form = MembershipAdminForm
    extra = 0
    fields = ["structure", "role", "created_at"]
    readonly_fields = ["created_at"]
    autocomplete_fields = ["structure"]


class ActivationFilter(admin.SimpleListFilter):
    title = "activation"
    parameter_name = "activation"

    def lookups(self, request, model_admin):
        return [("pending", "Jamais activé"), ("done", "Activé")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.awaiting_activation()
        if self.value() == "done":
            return queryset.filter(activated_at__isnull=False)
        return queryset


class StaffSetPasswordForm(AdminPasswordChangeForm):
    """The admin's « change password » form, audited: a password set by staff is an account takeover step."""

    def save(self, commit=True):
        user = super().save(commit)
        record(Action.PASSWORD_SET_BY_STAFF, target=user.email)
        return user


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = [
        "email",
        "first_name",
        "last_name",
        "is_active",
        "activated_at",
        "activation_sent_at",
        "date_joined",
    ]
    list_filter = [ActivationFilter, "is_active", "is_staff"]
    search_fields = ["email", "contact_email", "first_name", "last_name", "memberships__structure__siret"]
    readonly_fields = [
        "date_joined",
        "activated_at",
        "activation_sent_at",
        "terms_accepted_at",
        "terms_version",
        "last_login",
        "recent_mail",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Identité", {"fields": ["first_name", "last_name", "phone", "contact_email", "survey_consent"]}),
        (
            "Activation",
            {"fields": ["is_active", "activated_at", "activation_sent_at", "date_joined", "last_login", "recent_mail"]},
        ),
        ("Conditions", {"fields": ["terms_accepted_at", "terms_version"]}),
        ("Droits", {"fields": ["is_staff", "is_superuser", "groups", "user_permissions"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "first_name", "last_name", "password1", "password2"]})
    ]
    inlines = [MembershipInline]
    actions = ["resend_activation_link"]
    change_password_form = StaffSetPasswordForm

    def save_model(self, request, obj, form, change):
        """Staff changes to an account are audited (field names only); a deactivation ends its sessions."""
        super().save_model(request, obj, form, change)
        if not change or not form.changed_data:
            return
        if "is_active" in form.changed_data and not obj.is_active:
            obj.end_sessions()
            record(Action.DEACTIVATED, target=obj.email)
        record(Action.ACCOUNT_CHANGED, target=obj.email, champs=form.changed_data)

    @admin.display(description="derniers courriels (état d'envoi)")
    def recent_mail(self, user):
        mails = Email.objects.filter(to__icontains=user.email).order_by("-created")[:10]
        rows = (
            (localtime(mail.created).strftime("%d/%m/%Y %H:%M"), mail.subject, MAIL_STATUS[mail.status])
            for mail in mails
        )
        return format_html_join("\n", "<div>{} – {} : <strong>{}</strong></div>", rows) or "Aucun courriel"

    @admin.action(description="Renvoyer le lien d'activation", permissions=["change"])
    def resend_activation_link(self, request, queryset):
        pending = queryset.awaiting_activation()
        for user in pending:
            workflows.resend_activation(user.email)
        self.message_user(request, f"{pending.count()} lien(s) d'activation envoyé(s).", messages.SUCCESS)
        if skipped := queryset.count() - pending.count():
            self.message_user(request, f"{skipped} compte(s) déjà activé(s) ignoré(s).", messages.WARNING)
