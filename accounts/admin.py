from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.timezone import localtime
from django_otp import devices_for_user
from django_otp.plugins.otp_email.models import EmailDevice
from post_office.models import STATUS, Email

from accounts import workflows
from accounts.forms import LoginAddressChangeForm
from accounts.models import User
from approvals.models import ApprovalRequest
from audit.admin import audit_trail_link, short_date
from structures.admin import RoleReadOnly, SiretSearchMixin
from structures.models import Membership
from twofactor import devices as second_factor_devices
from twofactor import workflows as second_factor_workflows
from twofactor.models import RecoveryCodeDevice, SecondFactor

MAIL_STATUS = {
    STATUS.sent: "envoyé",
    STATUS.failed: "échec",
    STATUS.queued: "en attente d'envoi",
    STATUS.requeued: "nouvel essai prévu",
}


# Who grants rights or sets passwords: superusers only. A staff member allowed to
# change accounts (support) would otherwise make themselves superuser.
RIGHTS_FIELDS = ["is_staff", "is_superuser", "groups", "user_permissions"]
# Who signs in, and where bank and role warnings go: read-only for every staff member,
# superusers included. The login address changes through « Changer l'adresse de
# connexion », the contact address by its owner, each confirmed by the new address.
ADDRESS_FIELDS = ["email", "contact_email"]
RECENT_MAIL_SHOWN = 10


class MembershipInline(RoleReadOnly, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["structure", "role", "created_at"]
    readonly_fields = fields
    show_change_link = True

    def has_change_permission(self, request, obj=None):
        return False


class ActivationFilter(admin.SimpleListFilter):
    title = "activation"
    parameter_name = "activation"

    def lookups(self, request, model_admin):
        return [("pending", "Jamais activé"), ("done", "Activé")]

    def queryset(self, request, queryset):
        if self.value() == "pending":
            return queryset.awaiting_activation()
        if self.value() == "done":
            return queryset.activated()
        return queryset


class StaffSetPasswordForm(AdminPasswordChangeForm):
    """The admin's « change password » form, audited: a password set by staff is an account takeover step."""

    def save(self, commit=True):
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        return workflows.set_password_by_staff(self.user, password)


def action_on_list_and_page(**kwargs):
    """An admin action offered on the list (ticked rows) and on one account's page."""
    return admin.action(location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM], **kwargs)


@admin.register(User)
class UserAdmin(SiretSearchMixin, DjangoUserAdmin):
    ordering = ["email"]
    # Four columns on a 1280-pixel screen: the name in one, the activation's state and dates in another
    # (dd/mm/yyyy; the hours are on the account's page), the login address wrapping (static/css/admin.css).
    list_display = ["email", "full_name", "activation", "joined"]
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
        "sign_in_lockout",
        "pending_requests",
        "audit_trail",
        "address_changes",
        "second_factor_devices",
    ]
    fieldsets = [
        (None, {"fields": ["email", "password", "address_changes"]}),
        ("Identité", {"fields": ["first_name", "last_name", "phone", "contact_email", "survey_consent"]}),
        (
            "Activation et connexion",
            {
                "fields": [
                    "is_active",
                    "activated_at",
                    "activation_sent_at",
                    "date_joined",
                    "last_login",
                    "sign_in_lockout",
                    "recent_mail",
                ]
            },
        ),
        ("Double authentification", {"fields": ["second_factor_devices"]}),
        ("Demandes et journal", {"fields": ["pending_requests", "audit_trail"]}),
        ("Conditions", {"fields": ["terms_accepted_at", "terms_version"]}),
        ("Droits", {"fields": RIGHTS_FIELDS}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "first_name", "last_name", "password1", "password2"]})
    ]
    inlines = [MembershipInline]
    actions = ["resend_activation_link", "unlock_sign_in", "change_login_address", "reset_second_factor"]
    change_password_form = StaffSetPasswordForm

    def has_change_permission(self, request, obj=None):
        # A staff account is changed by superusers only: support changing a colleague's or a
        # superuser's login address, then asking for a reset link, would take the account over.
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.is_superuser:
            return fieldsets
        # Nor the password (its form is the superuser's) nor its hash for anyone else.
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f != "password"]})
            for name, options in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), *(ADDRESS_FIELDS if obj is not None else [])]
        return readonly if request.user.is_superuser else [*readonly, *RIGHTS_FIELDS]

    def user_change_password(self, request, id, form_url=""):
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    def save_model(self, request, obj, form, change):
        """Staff changes to an account are audited (field names only); a deactivation ends its sessions."""
        if change:
            workflows.change_account(obj, changed=form.changed_data, by=request.user)
        else:
            super().save_model(request, obj, form, change)

    @admin.display(description="nom", ordering="last_name")
    def full_name(self, user):
        return user.get_full_name()

    @admin.display(description="activation", ordering="activated_at")
    def activation(self, user):
        """Active or not, and since when; a link waiting: when it was sent (the « activation » filter finds them)."""
        if user.activated_at is None:
            sent = f", lien envoyé le {short_date(user.activation_sent_at)}" if user.activation_sent_at else ""
            return f"{'actif' if user.is_active else 'jamais activé'}{sent}"
        activated = f"activé le {short_date(user.activated_at)}"
        return activated if user.is_active else f"désactivé ({activated})"

    @admin.display(description="inscrit le", ordering="date_joined")
    def joined(self, user):
        return short_date(user.date_joined)

    @admin.display(description="derniers courriels (état d'envoi)")
    def recent_mail(self, user):
        """The mails sent to the login or the contact address, newest first, exactly those (one query)."""
        addresses = Q(to__iexact=user.email)
        if user.contact_email:
            addresses |= Q(to__iexact=user.contact_email)
        mails = Email.objects.filter(addresses).only("created", "to", "subject", "status")
        rows = (
            (
                reverse("admin:post_office_email_change", args=[mail.pk]),
                localtime(mail.created).strftime("%d/%m/%Y %H:%M"),
                mail.subject,
                MAIL_STATUS.get(mail.status, "inconnu"),
                ", ".join(mail.to),
            )
            for mail in mails.order_by("-created", "-pk")[:RECENT_MAIL_SHOWN]
        )
        return (
            format_html_join("\n", '<div><a href="{}">{}</a> – {} : <strong>{}</strong> (à {})</div>', rows)
            or "Aucun courriel"
        )

    @admin.display(description="blocage de la connexion")
    def sign_in_lockout(self, user):
        """django-axes' count for this login address, over its cool-off, as it decides a lockout."""
        attempts = AccessAttempt.objects.filter(username=user.email)
        if (cool_off := get_cool_off()) is not None:
            attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
        failures = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
        if failures >= settings.AXES_FAILURE_LIMIT:
            return f"Bloquée après {failures} échecs : action « Débloquer la connexion » en haut de la page."
        return f"Non bloquée ({failures} échec(s) récent(s))" if failures else "Non bloquée"

    @admin.display(description="changements d'adresse")
    def address_changes(self, user):
        """The latest requests to change the login or contact address, and whether the new address confirmed."""
        if user.pk is None:
            return "—"
        waiting = set(user.address_changes.confirmable().values_list("pk", flat=True))
        rows = (
            (
                change.get_kind_display(),
                change.new_address or "retirée",
                localtime(change.requested_at).strftime("%d/%m/%Y %H:%M"),
                change.requested_by or "—",
                address_change_state(change, waiting),
            )
            for change in user.address_changes.select_related("requested_by")[:RECENT_MAIL_SHOWN]
        )
        return format_html_join("\n", "<div>{} → {} : demandé le {} par {}, <strong>{}</strong></div>", rows) or "Aucun"

    @admin.display(description="appareils")
    def second_factor_devices(self, user):
        """What support may tell a caller: each device's kind, name, when added and last used; never a key or a code."""
        if user.pk is None:
            return "—"
        return format_html_join("\n", "<div>{}</div>", ((line,) for line in second_factor_lines(user)))

    @admin.display(description="demandes de rattachement en attente")
    def pending_requests(self, user):
        pending = ApprovalRequest.objects.pending_filed_by(user).select_related("structure").order_by("created_at")
        rows = (
            (
                reverse("admin:approvals_approvalrequest_change", args=[approval_request.pk]),
                approval_request.structure.name_and_siret,
                localtime(approval_request.created_at).strftime("%d/%m/%Y"),
                approval_request.waiting_for,
            )
            for approval_request in pending
        )
        return format_html_join("\n", '<div><a href="{}">{}</a> : déposée le {}, {}</div>', rows) or "Aucune"

    @admin.display(description="journal d'audit")
    def audit_trail(self, user):
        return audit_trail_link(user, "Voir les événements de ce compte", q=user.email)

    @action_on_list_and_page(
        description="Renvoyer le lien d'activation",
        description_plural="Renvoyer le lien d'activation aux comptes sélectionnés",
        permissions=["change"],
    )
    def resend_activation_link(self, request, queryset):
        """The site's own step (`accounts.workflows.resend_activation`): a new link, the older ones void."""
        pending = list(queryset.awaiting_activation())
        for user in pending:
            workflows.resend_activation(user.email)
        if pending:
            self.message_user(request, f"{len(pending)} lien(s) d'activation envoyé(s).", messages.SUCCESS)
        if skipped := len(queryset) - len(pending):
            self.message_user(request, f"{skipped} compte(s) déjà activé(s) ignoré(s).", messages.WARNING)

    @action_on_list_and_page(
        description="Débloquer la connexion",
        description_plural="Débloquer la connexion des comptes sélectionnés",
        permissions=["change"],
    )
    def unlock_sign_in(self, request, queryset):
        """django-axes' own reset for the login address: its failed sign-ins are forgotten, the lockout lifted."""
        unlocked = sum(workflows.lift_lockout(user, by=request.user) for user in queryset)
        if unlocked:
            self.message_user(
                request, f"Connexion débloquée pour {unlocked} compte(s) : ils peuvent se connecter à nouveau."
            )
        if untouched := len(queryset) - unlocked:
            self.message_user(request, f"{untouched} compte(s) sans échec de connexion récent.", messages.WARNING)

    def _one_account_to_change(self, request, queryset):
        """The actions that act on one account: it, or None once the agent is told why not (several selected, or a
        staff account, which only superusers change)."""
        if len(queryset) != 1:
            self.message_user(request, "Sélectionnez un seul compte.", messages.ERROR)
            return None
        user = queryset[0]
        if not self.has_change_permission(request, user):
            self.message_user(
                request, "Le compte d'un membre de l'équipe se change par un superutilisateur.", messages.ERROR
            )
            return None
        return user

    @action_on_list_and_page(description="Changer l'adresse de connexion", permissions=["change"])
    def change_login_address(self, request, queryset):
        """The new address confirms a mailed link before it is in force; the old one is told at once."""
        user = self._one_account_to_change(request, queryset)
        if user is None:
            return None
        form = LoginAddressChangeForm(user, request.POST if "new_email" in request.POST else None)
        if form.is_valid() and (change := form.save(by=request.user)) is not None:
            self.message_user(
                request,
                f"Un lien de confirmation est envoyé à {change.new_address}, et {user.email} en est prévenue : "
                "l'adresse de connexion changera quand le lien sera ouvert, dans les 60 minutes.",
            )
            return None
        return TemplateResponse(
            request,
            "admin/accounts/change_login_address.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Changer l'adresse de connexion de {user}",
                "opts": self.model._meta,
                "form": form,
                "account": user,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @action_on_list_and_page(description="Réinitialiser la double authentification", permissions=["change"])
    def reset_second_factor(self, request, queryset):
        """For a user who lost their application or key: back to the e-mail code, once support has checked who
        calls. A confirmation page first, which lists what will be removed; the user is mailed."""
        user = self._one_account_to_change(request, queryset)
        if user is None:
            return None
        if "confirm" in request.POST:
            second_factor_workflows.reset(user, by=request.user)
            self.message_user(
                request,
                f"Double authentification de {user} réinitialisée : le code par courriel lui sera demandé à sa "
                f"prochaine connexion, et {user.email} en est prévenue.",
            )
            return None
        return TemplateResponse(
            request,
            "admin/accounts/reset_second_factor.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Réinitialiser la double authentification de {user}",
                "opts": self.model._meta,
                "account": user,
                "devices": second_factor_lines(user),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


def second_factor_lines(user) -> list[str]:
    """One line per confirmed device: kind and name, added, last used, the default; recovery codes by their count.

    Read-only and without side effect: an account that has not signed in since the second factor came has no
    e-mail device row yet, and its line is written all the same (every account has the code by e-mail).
    """
    devices = sorted(
        devices_for_user(user, confirmed=True), key=lambda d: (not isinstance(d, EmailDevice), d.persistent_id)
    )
    usable = [d for d in devices if not isinstance(d, RecoveryCodeDevice)]
    chosen = SecondFactor.objects.filter(user=user).values_list("default_device", flat=True).first() or ""
    strong = [d for d in usable if second_factor_devices.is_strong(d)]
    default = next((d for d in usable if d.persistent_id == chosen), None) or (strong or usable or [None])[0]
    lines = []
    if not any(isinstance(d, EmailDevice) for d in devices):
        lines.append(f"Code par courriel, à {user.email}{' (par défaut)' if default is None else ''}")
    for device in devices:
        if isinstance(device, RecoveryCodeDevice):
            lines.append(f"Codes de secours : {device.codes.count()} restant(s) sur 10")
            continue
        added, used = getattr(device, "created_at", None), getattr(device, "last_used_at", None)
        parts = [second_factor_devices.describe(device)]
        if added:
            parts.append(f"ajout le {localtime(added).strftime('%d/%m/%Y')}")
        parts.append(f"utilisé le {localtime(used).strftime('%d/%m/%Y à %H:%M')}" if used else "jamais utilisé")
        lines.append(", ".join(parts) + (" (par défaut)" if device is default else ""))
    return lines


def address_change_state(change, waiting: set) -> str:
    """Confirmed, waiting (`waiting`: the ids whose link still works), or lapsed."""
    if change.confirmed_at is not None:
        return f"confirmé le {localtime(change.confirmed_at).strftime('%d/%m/%Y %H:%M')}"
    if change.pk in waiting:
        return "en attente de confirmation"
    return "non confirmé (lien expiré ou remplacé)"
