from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("webhook-endpoints", views.EndpointViewSet, basename="webhook-endpoint")

urlpatterns = router.urls
