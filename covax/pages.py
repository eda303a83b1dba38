"""Page URLs. Each app contributes its pages; this module only gathers them."""

from django.contrib.auth import views as auth_views
from django.urls import path

from covax import page_views

urlpatterns = [
    path("", page_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
