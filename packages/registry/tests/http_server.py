"""A file server for the tests, run as a subprocess: ``python http_server.py ROOT LOG``.

Serves ROOT on a free port of 127.0.0.1 (printed as the first line of stdout), appends
``METHOD PATH`` to LOG for each request, and throttles paths under ``/slow/`` (the same files,
sent in 4 KiB pieces 50 ms apart: about 80 KiB/s) so that a test can kill a client mid-transfer.
"""

from __future__ import annotations

import functools
import http.server
import sys
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, log_path: str, **kwargs) -> None:
        self.log_path = log_path
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self._log("GET")
        self.slow = self.path.startswith("/slow/")
        if self.slow:
            self.path = self.path[len("/slow") :]
        super().do_GET()

    def do_HEAD(self) -> None:
        self._log("HEAD")
        self.path = self.path.removeprefix("/slow")
        super().do_HEAD()

    def copyfile(self, source, outputfile) -> None:
        if not self.slow:
            return super().copyfile(source, outputfile)
        while chunk := source.read(4096):
            outputfile.write(chunk)
            outputfile.flush()
            time.sleep(0.05)

    def _log(self, method: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"{method} {self.path}\n")

    def log_message(self, format, *args) -> None:  # keep stderr quiet
        pass


def main() -> None:
    root, log_path = sys.argv[1], sys.argv[2]
    handler = functools.partial(Handler, directory=root, log_path=log_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
