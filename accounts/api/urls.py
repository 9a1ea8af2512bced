from django.urls import path
from rest_framework.routers import SimpleRouter

from . import two_factor, views

router = SimpleRouter(trailing_slash=False)
router.register("auth", views.AuthViewSet, basename="auth")
router.register("me/sessions", views.SessionViewSet, basename="session")
router.register("me/api-keys", views.ApiKeyViewSet, basename="api-key")
router.register("me/2fa", two_factor.TwoFactorViewSet, basename="two-factor")
router.register("users", views.UserDirectoryViewSet, basename="user")
router.register("roles", views.RoleViewSet, basename="role")
router.register("permissions", views.PermissionViewSet, basename="permission")

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
    path("me/profile", views.ProfileView.as_view(), name="me-profile"),
    path("me/password", views.PasswordChangeView.as_view(), name="me-password"),
    path("me/2fa", two_factor.TwoFactorStatusView.as_view(), name="two-factor-status"),
    path("auth/login/2fa", two_factor.SecondFactorLoginView.as_view(), name="auth-login-2fa"),
    *router.urls,
]
