from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from structures import workflows as structures
from structures.models import Membership, Structure


class Command(BaseCommand):
    help = (
        "Deletes accounts never activated whose last activation link was sent more than N days ago, "
        "with the structures that only they held; their login addresses become free again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help="days since the last activation link")
        parser.add_argument("--dry-run", action="store_true", help="say what would go, delete nothing")

    def handle(self, *args, days, dry_run, **options):
        if days < 1:
            raise CommandError("--days must be at least 1: an activation link lives 60 minutes.")
        cutoff = timezone.now() - timedelta(days=days)
        with transaction.atomic():
            # Locked, so that an account activated meanwhile is not taken along.
            user_ids = list(
                User.objects.awaiting_activation()
                .alias(last_link=Coalesce("activation_sent_at", "date_joined"))
                .filter(last_link__lt=cutoff)
                .select_for_update()
                .values_list("pk", flat=True)
            )
            purged = set(user_ids)
            held = Structure.objects.filter(memberships__user__in=user_ids).distinct()
            orphans, headless = [], []
            for structure in held.prefetch_related("memberships", "approval_requests"):
                # It goes with them when nobody else is attached to it or asks to be;
                # otherwise it stays, and without its main manager staff must appoint one.
                people = {m.user_id for m in structure.memberships.all()}
                people |= {r.requester_id for r in structure.approval_requests.all()}
                if people <= purged:
                    orphans.append(structure.pk)
                elif any(
                    m.user_id in purged and m.role == Membership.Role.MAIN_MANAGER for m in structure.memberships.all()
                ):
                    headless.append(structure.siret)
            if not dry_run:
                # Through the structures' workflows, which audit what goes; then the accounts.
                structures.delete_structures(Structure.objects.filter(pk__in=orphans), by=None)
                structures.delete_memberships(Membership.objects.filter(user__in=user_ids), by=None)
                User.objects.filter(pk__in=user_ids).delete()
        verb = "would be" if dry_run else "were"
        self.stdout.write(f"{len(user_ids)} unactivated account(s) and {len(orphans)} structure(s) {verb} deleted.")
        if headless:
            self.stdout.write(
                "These structures keep other users or requests but no main manager; appoint one in the admin: "
                + ", ".join(headless)
            )
