import pytest

from tests import factories

ALL_FACTORIES = [
    getattr(factories, name)
    for name in dir(factories)
    if name.endswith("Factory") and name != "DjangoModelFactory"
]


@pytest.mark.django_db
@pytest.mark.parametrize("factory", ALL_FACTORIES, ids=lambda f: f.__name__)
def test_factory_builds_a_row_the_database_accepts(factory):
    instance = factory()

    assert type(instance)._base_manager.filter(pk=instance.pk).exists()


def test_every_model_has_a_factory():
    from django.apps import apps

    covered = {f._meta.model for f in ALL_FACTORIES}
    ours = {
        m
        for app in ("core", "accounts", "chat", "documents", "billing")
        for m in apps.get_app_config(app).get_models()
    }
    assert ours - covered == set()
