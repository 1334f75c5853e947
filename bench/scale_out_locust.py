"""The load of bench/locustfile.py, with a journal of what each client was told (bench/scale_out.py runs it).

The same three kinds of visitors, unchanged; each request leaves a line in the journal
(SCALE_OUT_JOURNAL, JSON lines): when it started and ended, its name, whether it failed and why,
and, for the steps that write, whether the portal answered success and what was written. After
the run, bench/scale_out.py looks each success up in the database: a step the portal confirmed
and then lost is a lost write.

« Told success » is the answer the visitor sees: the POST redirected to the page that follows a
saved step (the portal shows the form again otherwise), and for an approval, its message.
"""

import json
import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from locust import events

import bench.locustfile as load

JOURNAL = Path(os.environ["SCALE_OUT_JOURNAL"]).open("a", buffering=1)  # noqa: SIM115 (open while locust runs)
# Where each write step leads once it has saved (a form with errors is shown again, a missing session leads to
# « Se connecter »).
SAVED = {
    "sign-up": "/compte/inscription/recapitulatif/",
    "activation": "/",
    "request attachment": "/organisation/rattachements/",
    "approve": "/approbations/",
}
WRITES = set(SAVED)
SIGN_IN_PAGE = "/compte/connexion/"


class Journalled:
    """Each virtual user names itself in its requests' context, so that a newcomer's steps can be put together."""

    def context(self) -> dict:
        return {"visitor": id(self)}


class Farmer(Journalled, load.Farmer):
    pass


class Newcomer(Journalled, load.Newcomer):
    pass


class Manager(Journalled, load.Manager):
    pass


@events.request.add_listener
def journal(request_type, name, response_time, exception=None, response=None, context=None, start_time=None, **kwargs):
    started = start_time or time.time() - response_time / 1000
    line = {
        "visitor": (context or {}).get("visitor"),
        "name": name,
        "method": request_type,
        "start": round(started, 3),
        "end": round(started + response_time / 1000, 3),
        "failed": exception is not None,
    }
    if exception is not None:
        line["error"] = str(exception)[:300]
    status = getattr(response, "status_code", None)
    line["status"] = status
    if name in WRITES and exception is None and response is not None:
        line.update(_written(name, response))
    elif status == 200 and name not in WRITES | {"sign-in (form)"} and urlsplit(response.url).path == SIGN_IN_PAGE:
        # A signed-in page that answered with « Se connecter »: the session was not found.
        line["signed_out"] = True
    JOURNAL.write(json.dumps(line) + "\n")


def _written(name: str, response) -> dict:
    """Whether a write step was told success, and what it wrote: the post is the first of the redirections."""
    post = response.history[0] if response.history else response
    told_success = (
        post.request.method == "POST"
        and post.status_code == 302
        and urlsplit(post.headers.get("Location", "")).path == SAVED[name]
        and (name != "approve" or "Demande approuvée" in response.text)
    )
    fields = parse_qs(post.request.body or "") if isinstance(post.request.body, str) else {}
    written = {"told_success": told_success, "path": urlsplit(post.request.url).path}
    if name == "sign-up":
        written["email"] = fields.get("email", [""])[0]
    elif name == "request attachment":
        written["siret"] = fields.get("siret", [""])[0]
    return written
