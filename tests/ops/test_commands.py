"""What every long command owes an operator: help on each option, progress only for a person
at a terminal, a dry run that promises what the real run does, and ``seed_demo --scale``
loading every domain at once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, get_commands, load_command_class
from django.core.management.base import BaseCommand
from django.utils import timezone

from accounts.models import ApiSession
from billing.models import Invoice
from chat.models import Conversation, Message
from core.models import AuditEvent, Event
from core.scale import PENDING_REFUSAL, drop_deferrable
from documents.models import DocumentVersion
from tests import factories

OUR_APPS = ("core", "accounts", "chat", "documents", "billing", "config")
OUR_COMMANDS = sorted(
    (name, app) for name, app in get_commands().items() if app.split(".")[0] in OUR_APPS
)
# Django's own options (--verbosity, --settings, ...) come with their help.
DJANGO_OPTIONS = {
    action.dest for action in BaseCommand().create_parser("manage.py", "base")._actions
}


class Terminal(StringIO):
    """Stands in for a person's terminal: a stream that says it is one."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("name", "app"), OUR_COMMANDS, ids=[n for n, _ in OUR_COMMANDS])
def test_every_option_of_every_command_says_what_it_does(name, app):
    command = load_command_class(app, name)
    parser = command.create_parser("manage.py", name)
    ours = [action for action in parser._actions if action.dest not in DJANGO_OPTIONS]

    assert command.help
    assert [action.option_strings or action.dest for action in ours if not action.help] == []


def test_progress_is_drawn_on_a_terminal_only_and_never_with_no_progress(db):
    terminal, piped, silenced = Terminal(), StringIO(), Terminal()
    for stream, extra in ((terminal, ()), (piped, ()), (silenced, ("--no-progress",))):
        factories.ConversationFactory(deleted_at=timezone.now() - timedelta(days=2))
        call_command(
            "purge_deleted", "--older-than", "1d", *extra, stdout=StringIO(), stderr=stream
        )

    assert "chat.conversation" in terminal.getvalue()
    assert piped.getvalue() == ""
    assert silenced.getvalue() == ""
    assert not Conversation.all_objects.exists()


@pytest.mark.parametrize(
    ("command", "domain"),
    [("seed_billing_scale", "invoices"), ("seed_documents_scale", "documents")],
)
def test_a_scale_dry_run_refuses_what_the_real_run_refuses(db, command, domain):
    factories.InvoiceFactory() if domain == "invoices" else factories.DocumentFactory()

    with pytest.raises(CommandError) as dry:
        call_command(command, "--dry-run", stdout=StringIO())
    with pytest.raises(CommandError) as real:
        call_command(command, stdout=StringIO())

    assert str(dry.value) == str(real.value)
    assert "fresh" in str(dry.value)


@pytest.mark.django_db(transaction=True)
def test_after_an_interrupted_load_every_loader_and_its_dry_run_refuse_until_repaired():
    drop_deferrable(["sessions"], lambda line: None)  # what a killed load leaves behind

    for command, options in [
        ("seed_billing_scale", ["--invoices", "10"]),
        ("seed_documents_scale", ["--documents", "10", "--owners", "2"]),
        ("seed_chat_scale", ["--users", "50", "--conversations", "11", "--messages", "10"]),
    ]:
        for dry_run in (["--dry-run"], []):
            with pytest.raises(CommandError) as refused:
                call_command(command, *options, *dry_run, stdout=StringIO())
            assert str(refused.value) == PENDING_REFUSAL
    with pytest.raises(CommandError, match="accounts: A previous load left indexes"):
        call_command("seed_demo", "--scale", "1", "--dry-run", stdout=StringIO())
    call_command("seed_chat_scale", "--repair", stdout=StringIO())

    assert not Invoice.objects.exists() and not Message.all_objects.exists()
    call_command("seed_billing_scale", "--invoices", "10", "--dry-run", stdout=StringIO())


def test_seed_demo_dry_run_with_scale_is_refused_as_the_run_would_be(db):
    factories.DocumentFactory()
    messages = Message.all_objects.count()

    with pytest.raises(CommandError, match="documents: The documents table is not empty"):
        call_command("seed_demo", "--scale", "1", "--dry-run", stdout=StringIO())
    with pytest.raises(CommandError, match="documents: The documents table is not empty"):
        call_command("seed_demo", "--scale", "1", stdout=StringIO())

    assert Message.all_objects.count() == messages


@pytest.mark.django_db(transaction=True)
def test_seed_demo_scale_loads_every_domain_in_one_command(synced_roles):
    out = StringIO()

    call_command("seed_demo", "--scale", "1", "--dry-run", stdout=out)
    dry = out.getvalue()
    assert Message.all_objects.count() == 0
    call_command("seed_demo", "--scale", "1", stdout=out, stderr=StringIO())

    for domain in ("chat", "documents", "billing", "accounts", "core"):
        assert f"Dry run: would load {domain}:" in dry
        assert f"Loaded {domain}:" in out.getvalue()
    # The scale rows, and the demo's few on top.
    assert Message.all_objects.count() >= 10_000
    assert DocumentVersion.objects.count() >= 100
    assert Invoice.objects.count() >= 1_000
    assert ApiSession.objects.count() >= 1_000
    assert AuditEvent.objects.count() >= 1_000
    assert Event.objects.count() >= 1_000
