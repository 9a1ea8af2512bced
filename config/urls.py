from django.contrib import admin
from django.urls import path

from core.admin_site import AtriumAdminSite

# The default site already holds every registration (ours, django_otp's); giving it our class
# adds the 2FA gate without registering anything twice.
admin.site.__class__ = AtriumAdminSite

urlpatterns = [
    path("admin/", admin.site.urls),
]
