from collections.abc import Callable

from django.contrib import admin
from django.contrib.admin.utils import display_for_value, model_ngettext
from django.contrib.postgres.search import SearchQuery
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.admin import LargeTableAdminMixin, ReadOnlyTabularInline, SoftDeleteAdminMixin
from core.api.context import action_context

from .models import SEARCH_CONFIG, Conversation, Message, MessageEdit, MessageReaction, excerpt
from .services import moderation


class ModerationAdminMixin(SoftDeleteAdminMixin):
    """Deleting and restoring go through chat.services.moderation (``moderation_services``:
    the delete and the restore service), so participants hear of it and ``since`` sync sees
    it."""

    actions = ["restore_selected"]
    moderation_services: tuple[Callable[..., int], Callable[..., int]]

    def _moderate(self, service: Callable[..., int], request, ids) -> int:
        return service(ids=list(ids), actor=request.user, context=action_context(request))

    def save_model(self, request, obj, form, change) -> None:
        # Nothing on these pages is editable: saving one must not write the row it loaded back
        # over what a service changed meanwhile (latest activity, an edit, a deletion).
        return

    def delete_view(self, request, object_id, extra_context=None):
        # Django runs this view in a transaction of its own; the moderation service is the
        # transaction (durable), as every chat write.
        return self._delete_view(request, object_id, extra_context)

    def delete_model(self, request, obj) -> None:
        self._moderate(self.moderation_services[0], request, [obj.pk])

    def delete_queryset(self, request, queryset) -> None:
        self._moderate(self.moderation_services[0], request, queryset.values_list("pk", flat=True))

    @admin.action(permissions=["change"], description="Restore selected %(verbose_name_plural)s")
    def restore_selected(self, request, queryset) -> None:
        restored = self._moderate(
            self.moderation_services[1], request, queryset.values_list("pk", flat=True)
        )
        self.message_user(request, f"Restored {restored} {model_ngettext(self.opts, restored)}.")


# Participant has a composite primary key, which Django 5.2's admin can neither register nor
# show as an inline; the conversation page lists participants read-only instead.


@admin.register(Conversation)
class ConversationAdmin(ModerationAdminMixin, admin.ModelAdmin):
    list_display = ("title", "last_activity_at", "created_at", "deleted_at")
    search_fields = ("title",)
    fields = (
        "title",
        "participants",
        "messages",
        "created_at",
        "updated_at",
        "last_activity_at",
        "deleted_at",
    )
    # Renaming is for the conversation's owners and admins (it is announced in it, in their
    # name); staff moderate by deleting and restoring, through chat.services.moderation.
    readonly_fields = (
        "title",
        "participants",
        "messages",
        "created_at",
        "updated_at",
        "last_activity_at",
    )
    moderation_services = (moderation.conversations_delete, moderation.conversations_restore)

    # A conversation starts with its creator as owner, which only the chat service sets up.
    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="Participants")
    def participants(self, obj: Conversation) -> str:
        rows = obj.participant_set.select_related("user").order_by("joined_at")
        empty = self.get_empty_value_display()
        return format_html(
            "<table><tr><th>User</th><th>Role</th><th>Joined</th><th>Read up to</th></tr>{}"
            "</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        row.user.email,
                        row.get_role_display(),
                        display_for_value(row.joined_at, empty),
                        display_for_value(row.last_read_at, empty),
                    )
                    for row in rows
                ),
            ),
        )

    # Messages run into millions: a link to their filtered list, not an inline.
    @admin.display(description="Messages")
    def messages(self, obj: Conversation) -> str:
        url = reverse("admin:chat_message_changelist", query={"conversation": obj.pk})
        return format_html('<a href="{}">Messages of this conversation</a>', url)


class MessageEditInline(ReadOnlyTabularInline):
    """The versions a message had before each edit (written by the chat service only)."""

    model = MessageEdit
    fk_name = "message"
    fields = ("edited_at", "editor", "previous_content", "previous_metadata")
    list_select_related = ("editor",)


class MessageReactionInline(ReadOnlyTabularInline):
    model = MessageReaction
    fields = ("emoji", "user", "created_at")
    list_select_related = ("user",)


@admin.register(Message)
class MessageAdmin(ModerationAdminMixin, LargeTableAdminMixin, admin.ModelAdmin):
    list_display = (
        "excerpt",
        "sender",
        "conversation_link",
        "message_type",
        "sent_at",
        "deleted_at",
    )
    list_display_links = ("excerpt",)
    list_filter = ("message_type",)
    # Words of the content, through the full-text index; an address finds a sender's messages.
    search_fields = ("content", "sender__email")
    search_help_text = (
        "Words from the message (all must appear), or the sender's full email address."
    )
    list_select_related = ("conversation", "sender")
    raw_id_fields = ("conversation", "sender", "parent")
    # Edits and reactions live only here, read-only: they run into millions and only the chat
    # service writes them.
    inlines = (MessageEditInline, MessageReactionInline)
    # Editing keeps an edit history the chat service writes; staff moderate by deleting.
    readonly_fields = (
        "conversation",
        "sender",
        "message_type",
        "content",
        "metadata",
        "parent",
        "sent_at",
        "edited_at",
        "changed_at",
    )
    moderation_services = (moderation.messages_delete, moderation.messages_restore)

    def has_add_permission(self, request) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term and " " not in term:
            return queryset.filter(sender__email__iexact=term), False
        # messages_search_idx (conversation, search_vector) serves this without a seq scan.
        words = SearchQuery(term, config=SEARCH_CONFIG, search_type="websearch")
        return queryset.filter(search_vector=words), False

    @admin.display(description="Message")
    def excerpt(self, message: Message) -> str:
        return excerpt(message.content) or f"({message.get_message_type_display()})"

    @admin.display(description="Conversation", ordering="conversation__title")
    def conversation_link(self, message: Message) -> str:
        url = reverse(
            "admin:chat_message_changelist", query={"conversation": message.conversation_id}
        )
        return format_html(
            '<a href="{}" title="Only this conversation">{}</a>', url, message.conversation
        )
