from chorus import mail


def test_a_queued_mail_reaches_the_outbox_once_the_worker_runs(db, outbox):
    mail.send("account_deactivated", "paul@exemple.fr", {"user": {"first_name": "Paul", "email": "paul@exemple.fr"}})
    assert outbox() and outbox()[0].to == ["paul@exemple.fr"]
    assert len(outbox()) == 1
