"""The activation links the portal mails, read back from the file backend's folder (bench/settings.py)."""

import re
import time
from email import message_from_bytes, policy
from pathlib import Path

ACTIVATION_PATH = re.compile(r"https?://[^\s/]+(/compte/activer/[^/\s]+/[^/\s]+/)")


def activation_path(mail_dir: Path, address: str, timeout: float = 30) -> str | None:
    """The path of the activation link mailed to `address`, waiting for the mail worker up to `timeout` s.

    Each file is read once (the folder grows with every sign-up): polling must not load the machine
    whose pages are being timed.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        settled = time.time() - 0.5  # a file still being written is read at the next pass
        for path in mail_dir.iterdir():
            if path.name not in _read and path.stat().st_mtime < settled:
                _read.add(path.name)
                for message in messages(path):
                    if match := ACTIVATION_PATH.search(text_of(message)):
                        _links[message["To"]] = match[1]
        if address in _links:
            return _links.pop(address)
        time.sleep(0.3)
    return None


_read: set[str] = set()
_links: dict[str, str] = {}


def messages(path: Path):
    """The file backend writes each message, then a line of dashes, into one file per connection."""
    for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
        if chunk.strip():
            yield message_from_bytes(chunk, policy=policy.default)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
