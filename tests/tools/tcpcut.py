#!/usr/bin/python3
"""tcpcut: a loopback TCP proxy that breaks connections on command, for
fault tests (tests/integration/test_pg_faults.py puts it between scittd and
PostgreSQL).

As a module:
    cut = TcpCut("127.0.0.1", pg_port)      # listens on cut.port
    cut.reset_all()                         # RST every open connection
    cut.refuse(3.0)                         # reset new connections for 3 s
    cut.arm(rb"COMMIT", forward=True, refuse_seconds=3.0, conn_seen=rb"INSERT")
        # the next client chunk matching the pattern (a regular expression,
        # case-insensitive), on a connection whose client already sent
        # something matching conn_seen (when given: picks the writer's
        # connection among readers' ones), is passed to the server (forward=True: the
        # commit happens) or dropped (False: it does not); then the client
        # side is reset, nothing more of the server's answer reaches it,
        # the server side is closed gracefully (so a forwarded COMMIT
        # completes), and new connections are refused for refuse_seconds.
    cut.after_bytes(n)                      # reset each connection once its
                                            # client sent n more bytes
    cut.close()

From a shell:
    tcpcut.py --listen PORT --to HOST:PORT
    SIGUSR1: reset every connection; SIGUSR2: arm a COMMIT cut (forwarded,
    new connections refused for 3 s). Prints "tcpcut: listening on PORT".
"""
import argparse
import re
import signal
import socket
import struct
import threading
import time


def _recv(sock):
    """The next bytes, or b"" at the end or on an error."""
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _rst(sock):
    """Close with a TCP reset (SO_LINGER 0)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class _Pair:
    def __init__(self, client, server):
        self.client, self.server = client, server
        self.cut = False  # the client side was reset: drop the server's bytes
        self.client_bytes = 0
        self.seen = False  # the client sent what arm()'s conn_seen asks for


class TcpCut:
    def __init__(self, host, port, listen_port=0):
        self.target = (host, port)
        self.lock = threading.Lock()
        self.pairs = []
        self.refuse_until = 0.0
        self.pattern = None
        self.forward = True
        self.refuse_seconds = 0.0
        self.conn_seen = None
        self.cut_after = None  # reset a connection once its client sent this many bytes
        self.cuts = 0  # connections cut so far
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", listen_port))
        self.ls.listen(64)
        self.port = self.ls.getsockname()[1]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    # ----- controls -----
    def reset_all(self):
        with self.lock:
            pairs, self.pairs = self.pairs, []
            self.cuts += len(pairs)
        for p in pairs:
            _rst(p.client)
            _rst(p.server)

    def refuse(self, seconds):
        with self.lock:
            self.refuse_until = time.monotonic() + seconds

    def arm(self, pattern=rb"\bCOMMIT\b", forward=True, refuse_seconds=0.0, conn_seen=None):
        with self.lock:
            self.pattern = re.compile(pattern, re.IGNORECASE)
            self.forward = forward
            self.refuse_seconds = refuse_seconds
            self.conn_seen = re.compile(conn_seen, re.IGNORECASE) if conn_seen else None

    def armed(self):
        with self.lock:
            return self.pattern is not None

    def after_bytes(self, n):
        with self.lock:
            self.cut_after = n
            for p in self.pairs:
                p.client_bytes = 0

    def close(self):
        self.closed = True
        try:
            self.ls.close()
        except OSError:
            pass
        self.reset_all()

    # ----- plumbing -----
    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            with self.lock:
                refused = time.monotonic() < self.refuse_until
            if refused:
                _rst(c)
                continue
            try:
                s = socket.create_connection(self.target, timeout=5)
                s.settimeout(None)
            except OSError:
                _rst(c)
                continue
            p = _Pair(c, s)
            with self.lock:
                self.pairs.append(p)
            threading.Thread(target=self._up, args=(p,), daemon=True).start()
            threading.Thread(target=self._down, args=(p,), daemon=True).start()

    def _drop(self, p):
        with self.lock:
            if p in self.pairs:
                self.pairs.remove(p)

    def _up(self, p):
        """client -> server, watching for the armed pattern."""
        while True:
            data = _recv(p.client)
            if not data:
                break
            with self.lock:
                if self.conn_seen is not None and not p.seen:
                    p.seen = self.conn_seen.search(data) is not None
                eligible = self.conn_seen is None or p.seen
                hit = eligible and self.pattern is not None and self.pattern.search(data) is not None
                forward, refuse = self.forward, self.refuse_seconds
                if hit:
                    self.pattern = None
                    self.cuts += 1
                    p.cut = True
                    self.refuse_until = time.monotonic() + refuse
                p.client_bytes += len(data)
                over = self.cut_after is not None and p.client_bytes >= self.cut_after
                if over:
                    self.cuts += 1
                    p.cut = True
            if over:
                data = data[: max(0, len(data) - (p.client_bytes - self.cut_after))]
            if hit or over:
                _rst(p.client)
                if forward and data:
                    try:
                        p.server.sendall(data)
                    except OSError:
                        pass
                    time.sleep(0.5)  # let the server act on it before it sees the end
                try:
                    p.server.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                break
            try:
                p.server.sendall(data)
            except OSError:
                break
        self._drop(p)
        try:
            p.server.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _down(self, p):
        """server -> client, until the pair is cut."""
        while True:
            data = _recv(p.server)
            if not data or p.cut:
                break
            try:
                p.client.sendall(data)
            except OSError:
                break
        if not p.cut:
            try:
                p.client.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        try:
            p.server.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser(description="loopback TCP proxy that breaks connections on a signal")
    ap.add_argument("--listen", type=int, default=0)
    ap.add_argument("--to", required=True, help="HOST:PORT")
    a = ap.parse_args()
    host, port = a.to.rsplit(":", 1)
    cut = TcpCut(host, int(port), a.listen)
    signal.signal(signal.SIGUSR1, lambda *_: cut.reset_all())
    signal.signal(signal.SIGUSR2, lambda *_: cut.arm(refuse_seconds=3.0))
    print("tcpcut: listening on %d" % cut.port, flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    cut.close()


if __name__ == "__main__":
    main()
