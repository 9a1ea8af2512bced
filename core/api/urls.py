from django.urls import path
from rest_framework.routers import SimpleRouter

from . import event_stream, events

router = SimpleRouter(trailing_slash=False)
router.register("events", events.EventViewSet, basename="event")

urlpatterns = [
    path("events/stream", event_stream.StreamElsewhereView.as_view(), name="event-stream"),
    *router.urls,
]
