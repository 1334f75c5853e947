import time

from django.core.management.base import BaseCommand
from django.db import connection

from chorus.mail import deliver_queued

# Any constant will do: the key names "the mail worker" among PostgreSQL's advisory locks.
ADVISORY_LOCK_KEY = 0x6D61696C


class Command(BaseCommand):
    help = "Sends queued mail every few seconds and retries failures (run one beside the web workers)."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between two passes")
        parser.add_argument("--once", action="store_true", help="one pass, then exit")

    def handle(self, *args, interval, once, **options):
        if not self.hold_the_lock(interval, wait=not once):
            return
        try:
            while True:
                sent, failed, requeued = deliver_queued()
                if sent or failed or requeued:
                    self.stdout.write(f"{sent} sent, {failed} failed, {requeued} to retry")
                if once:
                    return
                time.sleep(interval)
        finally:
            self.release_the_lock()

    def hold_the_lock(self, interval: float, wait: bool = True) -> bool:
        """One worker sends at a time: the queue is read without row locks, so two would send each mail twice.

        On PostgreSQL a second worker waits here until the first stops (`--once`
        gives up instead); the lock goes with the first one's connection, even
        if it dies.
        """
        if connection.vendor != "postgresql":
            return True
        waiting = False
        while True:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
                if cursor.fetchone()[0]:
                    return True
            if not wait:
                self.stdout.write("Another mail worker is running: nothing sent.")
                return False
            if not waiting:
                self.stdout.write("Another mail worker is running: waiting for it to stop.")
                waiting = True
            time.sleep(interval)

    def release_the_lock(self) -> None:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
