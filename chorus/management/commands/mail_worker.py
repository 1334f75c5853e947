import time

from django.core.management.base import BaseCommand

from chorus.mail import deliver_queued


class Command(BaseCommand):
    help = "Sends queued mail every few seconds and retries failures (run one beside the web workers)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between two passes")
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args, interval, once, **options):
        while True:
            sent, failed, requeued = deliver_queued()
            if sent or failed or requeued:
                self.stdout.write(f"{sent} sent, {failed} failed, {requeued} to retry")
            if once:
                return
            time.sleep(interval)
