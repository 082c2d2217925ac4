"""An HTTP service whose answer comes from a C extension; logs SIGTERM and exits cleanly."""

import signal
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

import fastsum


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"sum_squares(1000) = {fastsum.sum_squares(1000)}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def on_term(signum: int, frame: object) -> None:
    print("got SIGTERM, shutting down", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    server = HTTPServer(("", 8000), Handler)
    print("listening on 8000", flush=True)
    server.serve_forever()
