from django.contrib.auth.hashers import Argon2PasswordHasher


class PortalArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id sized for a 2-core server.

    Django's defaults (102,400 KiB, 8 lanes) cost about 0.2 s of both cores a
    hash. These are OWASP's first recommended set (m=19 MiB, t=2, p=1): one
    core per sign-in, so two sign-ins hash side by side. Hashes made with other
    parameters are upgraded at the next sign-in.
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
