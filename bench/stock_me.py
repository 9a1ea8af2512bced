"""The "stock" contender of bench/bench_auth.py: ``GET /stock/me`` as a plain DRF project
writes it. A ``RetrieveAPIView`` with a ``ModelSerializer`` (the profile nested), DRF's
default renderers and negotiation, Django's startproject middleware, DRF's own
``UserRateThrottle`` in the same Redis (bench/stock_me_settings.py), and the same
authentication as Atrium, so that the credential lookup costs both the same. Not part of the
product: only the benchmarks serve it.
"""

from django.urls import path
from rest_framework import generics, serializers

from accounts.models import User, UserProfile


class ProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = UserProfile
        fields = ["display_name", "avatar_url", "bio", "updated_at"]


class MeSerializer(serializers.ModelSerializer):
    profile = ProfileSerializer(read_only=True)

    class Meta:
        model = User
        fields = ["id", "email", "verified", "totp_enabled", "is_staff", "created_at", "profile"]


class MeView(generics.RetrieveAPIView):
    serializer_class = MeSerializer

    def get_object(self):
        return self.request.user


urlpatterns = [path("stock/me", MeView.as_view())]
