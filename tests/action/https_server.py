#!/usr/bin/env python3
"""Serve a directory over HTTPS on 127.0.0.1 for the install tests.

Usage: https_server.py DIR CERT KEY LOG. Binds an ephemeral port, prints it
on stdout, logs each GET path to LOG (one a line) so the tests can count
downloads, and stops by itself after 10 minutes.
"""

import functools
import http.server
import ssl
import sys
import threading


def main():
    root, cert, key, log = sys.argv[1:5]

    class Handler(http.server.SimpleHTTPRequestHandler):
        def do_GET(self):
            with open(log, "a", encoding="utf-8") as f:
                f.write(self.path + "\n")
            super().do_GET()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    stop = threading.Timer(600, server.shutdown)
    stop.daemon = True
    stop.start()
    server.serve_forever()


if __name__ == "__main__":
    main()
