import secrets

# Letters that are easy to tell apart on screen and when spoken in French.
ALPHABET = "ABCDEFGHJKLMNPRSTUVXYZ"


def challenge() -> tuple[str, str]:
    """django-simple-captcha challenge: five letters, typed in any case."""
    text = "".join(secrets.choice(ALPHABET) for _ in range(5))
    return text, text.lower()
