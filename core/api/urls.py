from rest_framework.routers import SimpleRouter

from . import events

router = SimpleRouter(trailing_slash=False)
router.register("events", events.EventViewSet, basename="event")

urlpatterns = router.urls
