from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from accounts.hashers import AtriumArgon2PasswordHasher


def test_passwords_are_hashed_with_argon2id_at_the_documented_cost():
    hasher = AtriumArgon2PasswordHasher()
    encoded = hasher.encode("s3cret-enough", hasher.salt())

    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify("s3cret-enough", encoded)
    assert not hasher.verify("s3cret-enougH", encoded)


def test_the_production_hasher_list_starts_with_argon2(settings):
    from config.settings import base

    settings.PASSWORD_HASHERS = base.PASSWORD_HASHERS
    encoded = make_password("s3cret-enough")

    assert identify_hasher(encoded).algorithm == "argon2"
    assert check_password("s3cret-enough", encoded)
