"""Log in, log out and sign up: Django's auth views plus a small signup view."""

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, UserCreationForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.http import url_has_allowed_host_and_scheme

from livecomments.errors import RateLimited

from .login_attempts import LoginAttempts


class RateLimitedAuthenticationForm(AuthenticationForm):
    """Django's login form; refuses to try the password after too many failures."""

    def clean(self):
        self.attempts = LoginAttempts.of(self.request, self.data.get("username"))
        try:
            self.attempts.check()
        except RateLimited as error:
            self.retry_after = error.retry_after
            raise ValidationError(error.message, code="rate_limited") from None
        try:
            cleaned = super().clean()
        except ValidationError:
            self.attempts.failed()
            raise
        if self.get_user() is not None:
            self.attempts.succeeded()
        return cleaned


class LoginView(auth_views.LoginView):
    authentication_form = RateLimitedAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "rate_limited"):
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


def signup(request):
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.save())
        return redirect(next_url or "/")
    return render(request, "registration/signup.html", {"form": form, "next": next_url})


urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", signup, name="signup"),
]
