"""What the refunds app tells the apps above it, which it does not import (docs/ARCHITECTURE.md, « Layers »).

`complement_answered`: the farm sent its request back with the complement an instructor asked for
(`refunds.workflows.send`), inside the sending's transaction; `instruction.receivers` mails the instructor who asked.
Arguments: `request` (the RefundRequest, « Déposée » again), `answer` (the farm's message), `by` (who sent it).
"""

from django.dispatch import Signal

complement_answered = Signal()
