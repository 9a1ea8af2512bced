"""Secrets the application must read back are stored encrypted, under keys that can rotate."""

import pytest
from cryptography.fernet import Fernet

from core import crypto


@pytest.fixture
def old_key(settings) -> bytes:
    key = Fernet.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [key]
    return key


def test_what_is_encrypted_decrypts_and_is_not_the_text():
    token = crypto.encrypt("JBSWY3DPEHPK3PXP")

    assert "JBSWY3DPEHPK3PXP" not in token
    assert crypto.decrypt(token) == "JBSWY3DPEHPK3PXP"


def test_a_new_first_key_still_reads_what_the_old_one_wrote(settings, old_key):
    written_before = crypto.encrypt("secret")
    new_key = Fernet.generate_key()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    written_after = crypto.encrypt("secret")

    assert crypto.decrypt(written_before) == crypto.decrypt(written_after) == "secret"
    # Only the new key wrote the second token.
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert crypto.decrypt(written_after) == "secret"
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(written_before)


def test_without_keys_one_is_derived_from_the_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = crypto.encrypt("secret")

    settings.SECRET_KEY = "another-secret-key"

    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(token)


def test_a_tampered_token_is_refused():
    token = crypto.encrypt("secret")
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]

    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(tampered)
