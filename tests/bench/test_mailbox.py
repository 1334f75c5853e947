"""The benchmark reads the portal's mails from the file backend's folder: the right code for each sign-in."""

import time
from email.utils import formatdate

from django.core.mail import EmailMessage
from django.core.mail.backends.filebased import EmailBackend

from bench import mailbox

ADDRESS = "bench.gestionnaire@exemple.fr"


def code_mail(address: str, code: str, sent: float) -> EmailMessage:
    body = f"Bonjour Camille,\n\nVotre code de connexion : {code}\n\nIl est valable 10 minutes, une seule fois.\n"
    subject = "Votre code de connexion Chorus Pro TIC/TICGN"
    return EmailMessage(subject, body, to=[address], headers={"Date": formatdate(sent)})


def deliver(mail_dir, *mails) -> None:
    """As the mail worker does in the benchmark: one file per pass, a dashed line after each message."""
    EmailBackend(file_path=str(mail_dir), alias="bench").send_messages(list(mails))


def test_a_sign_in_gets_the_code_mailed_after_its_password_not_an_earlier_one(tmp_path):
    """An earlier sign-in's code (used, or replaced) is passed over, even when read in the same pass as the new one."""
    now = time.time()
    deliver(tmp_path, code_mail(ADDRESS, "111111", now - 90), code_mail("autre@exemple.fr", "222222", now))
    deliver(tmp_path, code_mail(ADDRESS, "333333", now), code_mail(ADDRESS, "444444", now + 2))

    assert mailbox.sign_in_code(tmp_path, ADDRESS, since=now, timeout=5) == "444444"
    # Once read, a code is not given to the next sign-in, which waits for its own.
    assert mailbox.sign_in_code(tmp_path, ADDRESS, since=now, timeout=1) is None
    assert mailbox.sign_in_code(tmp_path, "autre@exemple.fr", since=now - 60, timeout=5) == "222222"


def test_activation_links_are_still_found_beside_the_codes(tmp_path):
    link = "http://127.0.0.1:8765/compte/activer/MQ/cle-secrete/"
    activation = EmailMessage("Activez votre compte", f"Ouvrez ce lien :\n{link}\n", to=["nouveau@exemple.fr"])
    deliver(tmp_path, code_mail(ADDRESS, "555555", time.time()), activation)

    assert mailbox.activation_path(tmp_path, "nouveau@exemple.fr", timeout=5) == "/compte/activer/MQ/cle-secrete/"
