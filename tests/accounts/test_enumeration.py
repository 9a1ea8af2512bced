"""Registration tells nobody whether an address has an account: the same answer, after the
same work (the password is hashed either way), for a taken address and a new one."""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TAKEN = "dana.whitfield@example.com"
NEW = "ellis.whitfield@example.com"


class CountingHasher(MD5PasswordHasher):
    """The test hasher, counting the hashes it computes."""

    algorithm = "counting_md5"
    computed = 0

    def encode(self, password, salt):
        CountingHasher.computed += 1
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.computed = 0
    return CountingHasher


@pytest.fixture
def taken(db):
    return UserFactory(email=TAKEN)


def _register(api, email: str, password: str):
    response = api.post(
        "/api/v1/auth/register",
        {"email": email, "password": password, "display_name": "Dana"},
        format="json",
    )
    body = response.json()
    body.pop("instance", None)
    return response.status_code, body


@pytest.mark.parametrize(
    "password",
    [
        "a long enough passphrase",
        # Too like the address: judged against what was sent, never the existing account.
        "whitfield.example",
        "short",
    ],
)
def test_a_taken_address_gets_the_answer_a_new_one_gets(api, taken, password):
    assert _register(api, TAKEN, password) == _register(api, NEW, password)


def test_a_taken_and_a_new_address_cost_one_hash_each(api, taken, hashes):
    taken_answer = _register(api, TAKEN, "a long enough passphrase")
    after_taken = hashes.computed
    new_answer = _register(api, NEW, "a long enough passphrase")

    assert taken_answer == new_answer
    assert after_taken == 1
    assert hashes.computed == 2
