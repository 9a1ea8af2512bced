from rest_framework.routers import SimpleRouter

from . import views

DOCUMENT = rf"documents/(?P<document_id>{views.UUID_PATTERN})"

router = SimpleRouter(trailing_slash=False)
router.register("documents", views.DocumentViewSet, basename="document")
router.register(f"{DOCUMENT}/versions", views.VersionViewSet, basename="document-version")
router.register(f"{DOCUMENT}/shares", views.ShareViewSet, basename="document-share")

urlpatterns = router.urls
