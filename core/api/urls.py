from rest_framework.routers import SimpleRouter

from . import audit, events

router = SimpleRouter(trailing_slash=False)
router.register("events", events.EventViewSet, basename="event")
router.register("audit-events", audit.AuditEventViewSet, basename="audit-event")

urlpatterns = router.urls
