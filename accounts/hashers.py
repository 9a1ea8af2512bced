from django.contrib.auth.hashers import Argon2PasswordHasher


class AtriumArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's first recommended profile: 19 MiB memory, 2 passes, 1 lane.

    Measured on the 2-core reference machine (bench/bench_argon2.py): see docs/security.md.
    Hashes made with other parameters are upgraded on the next successful login.
    """

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
