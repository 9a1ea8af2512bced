"""Every model has a factory, and each factory builds a row PostgreSQL accepts. Factories live
in tests/factories.py and in each app's tests/<app>/factories.py."""

import importlib
import pkgutil
from pathlib import Path

import pytest
from django.apps import apps
from factory.django import DjangoModelFactory

OUR_APPS = ("core", "accounts", "chat", "documents", "billing", "webhooks")


def _factory_modules():
    yield importlib.import_module("tests.factories")
    for package in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if package.ispkg and (Path(__file__).parent / package.name / "factories.py").exists():
            yield importlib.import_module(f"tests.{package.name}.factories")


ALL_FACTORIES = sorted(
    {
        value
        for module in _factory_modules()
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, DjangoModelFactory)
        and value is not DjangoModelFactory
        and value._meta.model is not None
    },
    key=lambda factory: factory.__name__,
)


@pytest.mark.django_db
@pytest.mark.parametrize("factory", ALL_FACTORIES, ids=lambda f: f.__name__)
def test_factory_builds_a_row_the_database_accepts(factory):
    instance = factory()

    assert type(instance)._base_manager.filter(pk=instance.pk).exists()


def test_every_model_has_a_factory():
    covered = {factory._meta.model for factory in ALL_FACTORIES}
    ours = {model for app in OUR_APPS for model in apps.get_app_config(app).get_models()}

    assert ours - covered == set()
