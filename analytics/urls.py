from django.urls import re_path

from analytics import webhooks

urlpatterns = [
    # The trailing slash is optional: a redirect would lose the POST body.
    re_path(
        r"^webhooks/(?P<sender>[^/]+)/(?P<token>[^/]+)/?$",
        webhooks.receive_webhook,
        name="webhook",
    ),
]
