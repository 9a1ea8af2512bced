"""Writes for chat, one module per sub-domain; each public function is one durable
transaction that announces what happened (core.events.publish) before it commits.

- ``conversations``: create, rename, delete;
- ``participants``: add, remove, change a role, leave;
- ``messages``: post, edit, delete, and the rules a message's content obeys;
- ``reactions``: add and take back an emoji;
- ``reads``: the read mark;
- ``moderation``: what staff do from the admin (delete, restore);
- ``_shared``: the lock, the system messages and the announcements the others share.

Ordering and locking. Every write to a conversation's contents first takes that
conversation's row lock (``FOR NO KEY UPDATE``, which does not block the foreign-key checks of
concurrent inserts), and only then reads the clock (``clock_timestamp()``) for ``sent_at`` or
``changed_at``. Writers of one conversation therefore commit in the order of their timestamps:
a client that read up to a message, or synced up to a change time, can never later find an
older row appearing behind it. The cost is that one conversation's writes queue one after
another, each for a few milliseconds; different conversations never wait for each other.

Access. A caller who is not a participant of a live conversation gets NotFound for anything
in it, the same answer as for a conversation that does not exist. A participant whose role
does not allow an action gets PermissionDenied: they can see the conversation anyway.

Announcements go to the conversation's participants (``Audience.conversation``); a person
removed from a conversation is no longer among them, so they also hear of it as themselves
(``Audience.user``), and so does a reader's own other devices of their read mark.
"""
