import pytest
from django.core.management import call_command


@pytest.fixture
def synced_roles(db):
    """The permission rows and default roles that ``sync_permissions`` creates."""
    call_command("sync_permissions", verbosity=0)
