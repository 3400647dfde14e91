"""Test runner: serves python/examples' Django or Flask app over TLS.

The Go tests (interop/python_frameworks_test.go) open the listening
socket and hand it over as fd 3; the certificate and key files come in
COOKIESEAL_TLS_CERT and COOKIESEAL_TLS_KEY. Django runs under the
standard library's wsgiref, Flask under werkzeug's server: two real WSGI
servers. Usage: serve_wsgi.py django|flask
"""

import os
import socket
import socketserver
import ssl
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.environ["COOKIESEAL_TLS_CERT"], os.environ["COOKIESEAL_TLS_KEY"])
    return ctx


class _Quiet(WSGIRequestHandler):
    def get_environ(self):
        env = super().get_environ()
        env["HTTPS"] = "on"  # wsgi.url_scheme https: request.is_secure()
        env["wsgi.url_scheme"] = "https"
        return env

    def log_message(self, *args):
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve_django():
    import django_app

    listener = socket.socket(fileno=3)
    host, port = listener.getsockname()[:2]
    server = _ThreadingWSGIServer((host, port), _Quiet, bind_and_activate=False)
    server.socket.close()
    server.socket = tls_context().wrap_socket(listener, server_side=True)
    server.server_name, server.server_port = host, port
    server.setup_environ()
    server.set_app(django_app.application)
    server.serve_forever()


def serve_flask():
    from werkzeug.serving import make_server

    import flask_app

    port = socket.socket(fileno=os.dup(3)).getsockname()[1]
    make_server("127.0.0.1", port, flask_app.app, threaded=True, ssl_context=tls_context(), fd=3).serve_forever()


if __name__ == "__main__":
    {"django": serve_django, "flask": serve_flask}[sys.argv[1]]()
