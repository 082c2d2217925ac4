"""A job runner: each job is a shell script that starts a helper in the background and returns
at once, as many wrapper scripts do. The helpers outlive their parent shell, so the kernel
hands them to PID 1, which must reap them when they exit. Answers on port 8000 with the number
of jobs run; logs SIGTERM and exits cleanly."""

import signal
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

JOBS = 5


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"{JOBS} jobs run\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def on_term(signum: int, frame: object) -> None:
    print("got SIGTERM, shutting down", flush=True)
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_term)
    for n in range(JOBS):
        # The shell exits at once and is reaped here; its background `sleep` is not our child.
        subprocess.run(["sh", "-c", 'sleep 0.5 & echo "job $0 started helper $!"', str(n)])
    server = HTTPServer(("", 8000), Handler)
    print("listening on 8000", flush=True)
    server.serve_forever()
