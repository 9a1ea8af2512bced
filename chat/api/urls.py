from rest_framework.routers import SimpleRouter

from . import views

CONVERSATION = f"conversations/(?P<conversation_pk>{views.UUID_PATTERN})"

router = SimpleRouter(trailing_slash=False)
router.register("conversations", views.ConversationViewSet, basename="conversation")
router.register(f"{CONVERSATION}/participants", views.ParticipantViewSet, basename="participant")
router.register(f"{CONVERSATION}/messages", views.MessageViewSet, basename="message")
router.register("messages/search", views.MessageSearchViewSet, basename="message-search")

urlpatterns = router.urls
