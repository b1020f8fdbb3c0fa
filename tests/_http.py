"""A local HTTP server for the download tests: nothing leaves 127.0.0.1."""

from __future__ import annotations

import http.server
import socket
import threading


class LocalServer:
    """An HTTP server on 127.0.0.1, on a free port, serving from a background thread.

    Use it as a context manager: the server runs inside the ``with`` block and
    is shut down, closed and joined on the way out.

    Args:
        handler: the request handler class (a ``BaseHTTPRequestHandler``).
    """

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        """The full URL of ``path`` (which starts with ``/``) on this server."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def closed_port_url(path: str) -> str:
    """A URL on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
