"""A loopback webhook receiver for tests: records every POST it gets."""

import http.server
import json
import threading
import time


class Receiver:
    """Records every POST; answers with ``statuses`` in turn (then 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay_seconds = 0.0
        self.redirect_to: str | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if receiver.redirect_to:
                    status = 302
                with receiver._lock:
                    # Recorded before answering: once the sender has our answer, the request is
                    # in ``requests`` (asserting right after a send never races this thread).
                    receiver.requests.append(
                        {"at": time.monotonic(), "path": self.path, "headers": dict(self.headers),
                         "body": body, "status": status}
                    )
                    receiver._changed.notify_all()
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                self.send_response(status)
                if receiver.redirect_to:
                    self.send_header("Location", receiver.redirect_to)
                reply = json.dumps({"received": status < 300}).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

