"""The portal's mails read back from the file backend's folder (bench/settings.py): activation links and sign-in codes.

Virtual users read them as a farmer reads their mailbox: the link to open, the code to type.
"""

import re
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

ACTIVATION_PATH = re.compile(r"https?://[^\s/]+(/compte/activer/[^/\s]+/[^/\s]+/)")
SIGN_IN_CODE = re.compile(r"Votre code de connexion : (\d{6})")


def activation_path(mail_dir: Path, address: str, timeout: float = 30) -> str | None:
    """The path of the activation link mailed to `address`, waiting for the mail worker up to `timeout` s."""
    return _wait(mail_dir, lambda: _links.pop(address, None), timeout)


def sign_in_code(mail_dir: Path, address: str, since: float, timeout: float = 30) -> str | None:
    """The code of the newest sign-in mail to `address` sent at `since` (a `time.time()`) or later, waiting for the
    mail worker up to `timeout` s.

    A code mailed before `since` belongs to an earlier sign-in: it was used, or a newer code replaced it. The
    mail's Date says when the worker sent it, to the second, so `since` is taken before the password is posted.
    """
    since = int(since)

    def newest():
        codes = sorted((mail for mail in _codes.get(address, []) if mail[0] >= since), key=lambda mail: mail[0])
        if codes:
            del _codes[address]  # those read now are used or replaced by the newest
            return codes[-1][1]
        return None

    return _wait(mail_dir, newest, timeout)


def _wait(mail_dir: Path, find, timeout: float):
    """Reads the new mails until `find()` answers, up to `timeout` s.

    Each file is read once (the folder grows with every sign-up and sign-in): polling must not load the machine
    whose pages are being timed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _read_new(mail_dir)
        if (found := find()) is not None:
            return found
        time.sleep(0.3)
    return None


_read: set[Path] = set()
_links: dict[str, str] = {}
_codes: dict[str, list[tuple[int, str]]] = {}  # address → (when sent, as a timestamp; code)


def _read_new(mail_dir: Path) -> None:
    settled = time.time() - 0.5  # a file still being written is read at the next pass
    # The backend names each file after the time it opens it: in that order, the older mails come first.
    for path in sorted(mail_dir.iterdir()):
        if path in _read or path.stat().st_mtime >= settled:
            continue
        _read.add(path)
        for message in messages(path):
            text = text_of(message)
            address = str(message["To"])
            if match := ACTIVATION_PATH.search(text):
                _links[address] = match[1]
            if match := SIGN_IN_CODE.search(text):
                _codes.setdefault(address, []).append((sent_at(message), match[1]))


def messages(path: Path):
    """The file backend writes each message, then a line of dashes, into one file per connection."""
    for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
        if chunk.strip():
            yield message_from_bytes(chunk, policy=policy.default)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def sent_at(message) -> int:
    """The mail's Date as a timestamp; Django writes it in UTC as « -0000 », which Python reads as no time zone."""
    sent: datetime = message["Date"].datetime
    return int((sent if sent.tzinfo else sent.replace(tzinfo=UTC)).timestamp())
