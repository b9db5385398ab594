import pytest
from rest_framework.test import APIClient

from tests.conftest import make_user


@pytest.fixture
def staff(django_user_model):
    """Sam is staff but not a moderator."""
    return make_user(django_user_model, "sam", is_staff=True)


@pytest.fixture
def api():
    """`api(user)` is a REST client with that user's token; `api()` is anonymous."""

    def client_for(user=None):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        return client

    return client_for
