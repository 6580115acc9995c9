"""Account pages besides allauth's, mounted at /accounts/."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("invitations/<str:token>/", views.invitation, name="accounts-invitation"),
]
