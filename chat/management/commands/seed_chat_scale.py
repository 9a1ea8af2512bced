from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chat import scale
from core.progress import ProgressCommandMixin
from core.scale import rebuild_deferred_indexes


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Load a large chat data set fast, for benchmarks and capacity checks: USERS users, "
        "CONVERSATIONS conversations and MESSAGES messages (by default 10,000, 100,000 and "
        "10,000,000), generated inside PostgreSQL in parallel batches with the messages "
        "table's indexes dropped and rebuilt afterwards; progress on stderr (on a terminal). "
        "Adds to what the "
        "database holds. Refused unless the settings allow demo data (DEMO_DATA_ALLOWED); "
        "chat/scale.py says how it works."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--users", type=int, default=10_000, help="Users to create (default 10,000)."
        )
        parser.add_argument(
            "--conversations",
            type=int,
            default=100_000,
            help="Conversations to create (default 100,000).",
        )
        parser.add_argument(
            "--messages", type=int, default=10_000_000, help="Messages to load (default 10M)."
        )
        parser.add_argument(
            "--busy-share",
            type=float,
            default=0.1,
            help="Share of the messages in the ten busy conversations (default 0.1).",
        )
        parser.add_argument("--batch", type=int, default=250_000, help="Messages per batch.")
        parser.add_argument(
            "--seed", type=int, default=42, help="Seed of the generated texts (default 42)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be loaded, load nothing."
        )
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Only rebuild the indexes an interrupted load (of any scale loader) left dropped.",
        )
        self.add_progress_argument(parser)

    def handle(self, *args, **options):
        if not settings.DEMO_DATA_ALLOWED and not options["repair"]:
            raise CommandError("Scale data is not allowed with these settings (DEMO_DATA_ALLOWED).")
        if options["repair"]:
            with self.progress(options) as progress:
                rebuild_deferred_indexes(progress.line)
            self.stdout.write("Indexes and constraints of the loaded tables are in place.")
            return
        try:
            plan = scale.ScalePlan(
                users=options["users"],
                conversations=options["conversations"],
                messages=options["messages"],
                busy_share=options["busy_share"],
                batch=options["batch"],
                seed=options["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        summary = (
            f"{plan.users:,} users, {plan.conversations:,} conversations, "
            f"{plan.messages:,} messages"
        )
        refusal = scale.refusal()
        if refusal:
            raise CommandError(refusal)
        if options["dry_run"]:
            self.stdout.write(f"Dry run, nothing written. Would load {summary}.")
            return
        with self.progress(options) as progress:
            scale.load(plan, progress.line)
        self.stdout.write(self.style.SUCCESS(f"Loaded {summary}."))
