"""cookieseal.django with django.contrib.auth, a real database and the
test client's force_login, in a process of its own (django_auth_check.py):
Django can be configured once per process, and test_django.py configures
it as the example app."""

import json
import os
import subprocess
import sys

from framework_helpers import need

need("django", "python3-django")

HERE = os.path.dirname(os.path.abspath(__file__))


def test_django_auth_login_logout_and_force_login():
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), HERE, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, os.path.join(HERE, "django_auth_check.py")], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    pk = out["pk"]
    # django.contrib.auth.login(): a renewed session whose subject is the user's pk.
    assert out["login"]["subject"] == pk and out["login"]["id"]
    assert out["whoami"] == {"user": "zoe", "subject": pk}
    # django.contrib.auth.logout(): the cookie is cleared, and a copy kept
    # from before is revoked (no user, not merely a cleared cookie).
    assert len(out["logout_clears"]) == 1 and "Max-Age=0" in out["logout_clears"][0]
    assert out["replayed"] == {"user": None, "subject": ""}
    # The test client's force_login() goes through SessionStore.save() and session_key.
    assert out["force_login"] == {"user": "zoe", "subject": pk}
