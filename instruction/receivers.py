"""What the instruction does when the refunds app tells it something (`refunds.signals`)."""

from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from chorus import mail
from instruction.access import departements_of
from refunds.models import RefundEvent
from refunds.signals import complement_answered


@receiver(complement_answered)
def tell_the_instructor_who_asked(sender, *, request, answer: str, by, **kwargs) -> None:
    """The instructor who asked the complement is mailed the farm's answer: the request is back in the queue,
    « Déposée ». Only while they still instruct its département (an instructor moved since reads nothing of it)."""
    asked = request.events.filter(kind=RefundEvent.Kind.INFORMATION_REQUESTED).select_related("actor").last()
    instructor = asked.actor if asked is not None else None
    if instructor is None or request.departement not in departements_of(instructor):
        return
    mail.send(
        "refund_complement_answered",
        instructor.email,
        {
            "request": request,
            "structure": request.structure,
            "reader": instructor,
            "filer": by,
            "answer": answer,
            "at": timezone.localtime(),
            "request_link": mail.absolute_url(reverse("instruction:request_detail", args=[request.pk])),
        },
    )
