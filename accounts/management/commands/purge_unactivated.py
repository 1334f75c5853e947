from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from structures.models import Structure


class Command(BaseCommand):
    help = (
        "Deletes accounts never activated, created more than N days ago, with the structures "
        "that only they held; their login addresses become free again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help="age in days of the accounts to purge")
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")

    def handle(self, *args, days, dry_run, **options):
        if days < 1:
            self.stderr.write("--days must be at least 1 (an activation link lives 60 minutes).")
            return
        cutoff = timezone.now() - timedelta(days=days)
        users = User.objects.filter(is_active=False, activated_at__isnull=True, date_joined__lt=cutoff)
        with transaction.atomic():
            # A structure goes with them when no one else is attached to it or asks to be.
            orphans = Structure.objects.annotate(
                others=Count("memberships", filter=~Q(memberships__user__in=users), distinct=True)
                + Count("approval_requests", filter=~Q(approval_requests__requester__in=users), distinct=True)
            ).filter(memberships__user__in=users, others=0)
            structure_ids = list(orphans.values_list("pk", flat=True))
            user_count = users.count()
            if not dry_run:
                Structure.objects.filter(pk__in=structure_ids).delete()
                users.delete()
        verb = "would be" if dry_run else "were"
        self.stdout.write(f"{user_count} unactivated account(s) and {len(structure_ids)} structure(s) {verb} deleted.")
