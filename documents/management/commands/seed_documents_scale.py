from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from core.progress import ProgressCommandMixin
from documents import scale


class Command(ProgressCommandMixin, BaseCommand):
    help = (
        "Load a large documents data set for benchmarks: DOCUMENTS documents (default 100,000) "
        "averaging VERSIONS versions (default 20, so about 2 million version rows), owned by "
        "OWNERS generated users, with about one share per document. With --for-user, that "
        "existing user owns --owned documents and holds --shared live shares (and half as many "
        "expired ones). Only into a database without documents: run it on a fresh bench "
        "database, never on one holding real data."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--documents", type=int, default=100_000, help="Documents to load (default 100,000)."
        )
        parser.add_argument(
            "--versions", type=int, default=20, help="Versions per document on average."
        )
        parser.add_argument(
            "--owners", type=int, default=1_000, help="Users to create as owners (default 1,000)."
        )
        parser.add_argument("--for-user", help="email of the user a benchmark signs in as")
        parser.add_argument(
            "--owned",
            type=int,
            default=2_000,
            help="Documents --for-user owns (default 2,000).",
        )
        parser.add_argument(
            "--shared",
            type=int,
            default=200,
            help="Live shares --for-user holds of others' documents (default 200).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be loaded; load nothing."
        )
        self.add_progress_argument(parser)

    def handle(self, *args, **options):
        if options["documents"] < 1 or options["versions"] < 1 or options["owners"] < 2:
            raise CommandError("Needs at least 1 document, 1 version and 2 owners.")
        user = None
        if options["for_user"]:
            user = User.objects.filter(email__iexact=options["for_user"]).first()
            if user is None:
                raise CommandError(f"No user has the email {options['for_user']}.")
        plan = (
            f"{options['documents']:,} documents averaging {options['versions']} versions"
            f" for {options['owners']:,} owners"
            + (f"; {user.email} owns {options['owned']:,}" if user else "")
        )
        if reason := scale.refusal():
            raise CommandError(reason)
        if options["dry_run"]:
            self.stdout.write(f"Dry run, nothing written. Would load {plan}.")
            return
        self.stdout.write(f"Loading {plan} ...")
        try:
            with self.progress(options) as progress:
                result = scale.documents_scale_load(
                    documents=options["documents"],
                    versions=options["versions"],
                    owners=options["owners"],
                    for_user=user.pk if user else None,
                    owned=options["owned"],
                    shared=options["shared"],
                    progress=progress.line,
                )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Loaded {result.documents:,} documents, {result.versions:,} versions and"
                f" {result.shares:,} shares in {result.seconds:.0f}s."
            )
        )
