"""Run by test_django_auth.py in a process of its own (Django is configured
once per process): django.contrib.auth on the cookieseal engine, with a
real database (SQLite in memory) and the in-memory revoker.

Prints one JSON object of findings on stdout.
"""

import json
import sys

import django
from django.conf import settings

import cookieseal

manager = cookieseal.Manager(cookieseal.Keys.generate(), revoker=cookieseal.MemoryRevoker())

settings.configure(
    SECRET_KEY="test only",
    ALLOWED_HOSTS=["localhost", "testserver"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    SESSION_ENGINE="cookieseal.django",
    SESSION_COOKIE_NAME=manager.name,  # for the test client's force_login
    COOKIESEAL_MANAGER=__name__ + ".manager",
    MIDDLEWARE=["cookieseal.django.SessionMiddleware", "django.contrib.auth.middleware.AuthenticationMiddleware"],
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
)
django.setup()

from django.contrib import auth  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import path  # noqa: E402


def login(request):
    user = auth.authenticate(request, username="zoe", password="pw")
    auth.login(request, user)  # cycle_key(), then the user's pk into the session
    return JsonResponse({"id": request.session.id, "subject": request.session.subject})


def whoami(request):
    return JsonResponse({"user": request.user.username if request.user.is_authenticated else None,
                         "subject": request.session.subject})


def logout(request):
    auth.logout(request)  # flush(): the session ends and is revoked
    return JsonResponse({})


urlpatterns = [path("login", login), path("whoami", whoami), path("logout", logout)]


def cookie_of(resp):
    return "; ".join("%s=%s" % (m.key, m.value) for m in resp.cookies.values() if m.value and m.get("max-age") != 0)


def main():
    call_command("migrate", verbosity=0)
    user = User.objects.create_user("zoe", password="pw")
    out = {"pk": str(user.pk)}
    c = Client(HTTP_HOST="localhost")
    resp = c.post("/login", secure=True)
    out["login"] = resp.json()
    cookie = cookie_of(resp)
    c = Client(HTTP_HOST="localhost", HTTP_COOKIE=cookie)
    out["whoami"] = c.get("/whoami", secure=True).json()
    resp = c.post("/logout", secure=True)
    out["logout_clears"] = [m.output(header="").strip() for m in resp.cookies.values()]
    out["replayed"] = Client(HTTP_HOST="localhost", HTTP_COOKIE=cookie).get("/whoami", secure=True).json()
    # The test client's force_login goes through SessionStore.save() and session_key.
    c = Client(HTTP_HOST="localhost")
    c.force_login(user)
    out["force_login"] = c.get("/whoami", secure=True).json()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
