"""What a webhook carries: the event exactly as ``GET /api/v1/events`` serves it (core's
EventOutput and JSON renderer), so one client parser reads both."""

from collections import OrderedDict
from collections.abc import Iterable

from core.api.events import EventOutput
from core.api.renderers import JSONRenderer
from core.models import Event

_renderer = JSONRenderer()

# Events never change (the table refuses UPDATE), so a body made once serves every endpoint
# and every retry this worker process sends it to; the oldest are forgotten first.
CACHE_SIZE = 20_000
_cache: OrderedDict[int, bytes] = OrderedDict()


def render(event: Event) -> bytes:
    return _renderer.render(EventOutput(event).data)


def bodies(event_ids: Iterable[int]) -> dict[int, bytes]:
    """The body of each event still in the log (purged ones are missing); one query for the
    events not rendered yet."""
    wanted = list(event_ids)
    missing = [event_id for event_id in wanted if event_id not in _cache]
    if missing:
        for event in Event.objects.filter(pk__in=missing):
            _cache[event.pk] = render(event)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    found = {event_id: _cache.get(event_id) for event_id in wanted}
    return {event_id: body for event_id, body in found.items() if body is not None}
