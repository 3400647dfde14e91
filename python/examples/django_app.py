"""A Django project in one file sharing its login with a Go service (cookieseal.django).

Run (any WSGI server; python/examples is on PYTHONPATH):

    COOKIESEAL_KEY_FILE=/run/secrets/cookieseal.json COOKIESEAL_REDIS_URL=redis://localhost:6379/0 \
    DJANGO_SECRET_KEY=... gunicorn django_app:application
"""

import os

import django
import redis
from django.conf import settings

import cookieseal
import cookieseal.redis

manager = cookieseal.Manager(
    cookieseal.Keys.from_file(os.environ["COOKIESEAL_KEY_FILE"]),  # re-read when rotation changes it
    os.environ.get("COOKIESEAL_COOKIE", "__Host-session"),  # the Go manager's name
    format=os.environ.get("COOKIESEAL_FORMAT", "native"),  # the Go manager's Options.Codec.Format
    revoker=cookieseal.redis.Revoker(redis.Redis.from_url(os.environ["COOKIESEAL_REDIS_URL"], socket_timeout=2)),
)

settings.configure(
    SECRET_KEY=os.environ["DJANGO_SECRET_KEY"],  # Django's own signing (CSRF...), not the session's
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    SESSION_ENGINE="cookieseal.django",
    COOKIESEAL_MANAGER=__name__ + ".manager",
    MIDDLEWARE=["cookieseal.django.SessionMiddleware"],  # in place of Django's SessionMiddleware
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402 (after settings)
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.http import require_GET, require_POST  # noqa: E402


@require_POST
def login(request):
    request.session.cycle_key()  # a new session id at every login (django.contrib.auth.login does it too)
    request.session.subject = request.GET["sub"]  # the user: Go's sess.Subject()
    request.session["from"] = "django"
    request.session["n"] = 9007199254740993  # 2**53 + 1: exact on both sides
    request.session.flash("welcome from django")
    return HttpResponse(status=204)


@require_GET
def me(request):
    s = request.session
    if not s.authenticated:
        return JsonResponse({"error": "no session", "reason": s.reason}, status=401)
    return JsonResponse({"id": s.id, "sub": s.subject, "d": dict(s.items())})


@require_GET
def flashes(request):
    return JsonResponse({"flashes": request.session.pop_flashes()})


@require_POST
def logout_others(request):
    request.session.revoke_others()  # every other session of the user, Go's included
    return HttpResponse(status=204)


@require_POST
def logout(request):
    request.session.flush()  # ends the session, revoked for Go too (django.contrib.auth.logout calls it)
    return HttpResponse(status=204)


urlpatterns = [
    path("login", login),
    path("me", me),
    path("flashes", flashes),
    path("logout-others", logout_others),
    path("logout", logout),
]
application = get_wsgi_application()
