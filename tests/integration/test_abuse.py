#!/usr/bin/python3
"""HTTP/2 abuse: each attack ends (GOAWAY, reset or close) the attacking
connection while scittd keeps serving other clients.

  rapid reset        HEADERS + RST_STREAM pairs    nghttp2 reset token bucket -> GOAWAY
  CONTINUATION flood endless CONTINUATION frames   nghttp2 max_continuations -> GOAWAY
  PING/SETTINGS flood, never reading the ACKs      write backpressure + max_outbound_ack, idle close
  slow request       headers, then no body         --request-timeout-ms -> RST_STREAM
  zero window        window 0, only PINGs          response deadline + --idle-timeout-ms
  idle connection    nothing at all                --idle-timeout-ms -> close
  connection flood   more than --max-connections   closed at accept
  huge headers       over --max-header-bytes       431
  reset with output  RST while responses are queued  EPIPE closes it (no SIGPIPE)
"""
import os
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import *  # noqa: E402,F403

root = tempdir()
srv = None
try:
    iss = Issuer(root)
    srv = Server(root, args=["--issuer-keys", iss.keys_dir, "--idle-timeout-ms", "2000", "--request-timeout-ms",
                             "1000", "--max-connections", "8"]).start()
    B = srv.base

    def healthy(what):
        r = curl(B + "/healthz")
        check(r.status == 200 and srv.alive(), "server serves others " + what)

    # A long-lived bystander connection that must keep working throughout.
    bystander = H2(srv.port)

    def bystander_ok(what):
        r = bystander.request("GET", "/checkpoint")
        check(r.status == 200, "bystander connection served " + what)

    # Rapid reset.
    s = socket.create_connection(("127.0.0.1", srv.port))
    burst = bytearray(PREFACE)
    for i in range(5000):
        sid = 2 * i + 1
        burst += frame(1, 0x5, sid, header_block("/healthz")) + frame(3, 0, sid, struct.pack(">I", 8))
    try:
        s.sendall(bytes(burst))
    except (BrokenPipeError, ConnectionResetError):
        pass
    closed, buf = read_until_closed(s, 5)
    s.close()
    check(closed and goaway_code(buf) is not None, "rapid reset: GOAWAY (code %r) and close" % goaway_code(buf))
    healthy("after a rapid reset flood")

    # CONTINUATION flood.
    s = socket.create_connection(("127.0.0.1", srv.port))
    block = header_block("/healthz")
    flood = bytearray(PREFACE + frame(1, 0x1, 1, block))  # END_STREAM, no END_HEADERS
    filler = hpack.Encoder().encode([("x-filler", "a" * 100)])
    for _ in range(100):
        flood += frame(9, 0, 1, filler)
    try:
        s.sendall(bytes(flood))
    except (BrokenPipeError, ConnectionResetError):
        pass
    closed, buf = read_until_closed(s, 5)
    s.close()
    check(closed and goaway_code(buf) is not None, "CONTINUATION flood: GOAWAY (code %r) and close" % goaway_code(buf))
    healthy("after a CONTINUATION flood")
    bystander_ok("after two floods")

    # PING and SETTINGS flood from a client that never reads.
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.settimeout(10)
    pings = frame(6, 0, 0, b"12345678") * 4096 + frame(4, 0, 0, b"") * 1024
    sent = 0
    t0 = time.time()
    try:
        s.sendall(PREFACE)
        while time.time() - t0 < 8:
            s.sendall(pings)
            sent += len(pings)
    except (socket.timeout, TimeoutError, BrokenPipeError, ConnectionResetError):
        pass
    healthy("during a PING/SETTINGS flood (%d bytes sent before the server stopped reading)" % sent)
    closed, _ = read_until_closed(s, 10)
    s.close()
    check(closed, "PING flood connection closed")

    # Slow request: headers for a POST, then no body.
    h = H2(srv.port)
    sid = h.send("POST", "/entries", [("content-type", "application/cose")], end=False)
    t0 = time.time()
    h.wait([sid], timeout=6)
    check(h.responses[sid]["reset"] == 8 and time.time() - t0 < 4,
          "slow request reset (CANCEL) after --request-timeout-ms (%.1fs)" % (time.time() - t0))
    h.close()

    # Zero window: the response cannot be sent; PINGs do not keep it alive.
    h = H2(srv.port, settings={4: 0})  # SETTINGS_INITIAL_WINDOW_SIZE = 0
    sid = h.send("GET", "/.well-known/scitt-keys")
    t0 = time.time()
    while time.time() - t0 < 8 and not h.closed:
        h.conn.ping(b"stalling")
        h.flush()
        h.sock.settimeout(0.3)
        try:
            data = h.sock.recv(65536)
            if not data:
                h.closed = True
            else:
                for ev in h.conn.receive_data(data):
                    if isinstance(ev, h2.events.StreamReset):
                        h.responses[sid]["reset"] = ev.error_code
                    if isinstance(ev, h2.events.ConnectionTerminated):
                        h.closed = True
        except (socket.timeout, TimeoutError):
            pass
        except (ConnectionResetError, h2.exceptions.ProtocolError):
            h.closed = True
    check(h.closed, "zero-window stall: connection closed after %.1fs (stream reset: %r)" %
          (time.time() - t0, h.responses[sid]["reset"]))
    h.close()

    # Idle connection.
    s = socket.create_connection(("127.0.0.1", srv.port))
    s.sendall(PREFACE)
    t0 = time.time()
    closed, _ = read_until_closed(s, 8)
    check(closed and time.time() - t0 < 5, "idle connection closed after %.1fs" % (time.time() - t0))
    s.close()

    # Connection flood: 8 open connections fill --max-connections 8.
    time.sleep(2.5)  # let the idle timeout close the bystander first
    socks = []
    for _ in range(8):
        c = socket.create_connection(("127.0.0.1", srv.port))
        c.sendall(PREFACE)
        socks.append(c)
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", srv.port))
    t0 = time.time()
    closed, _ = read_until_closed(extra, 1.5)
    check(closed and time.time() - t0 < 1, "connection over --max-connections closed at once")
    extra.close()
    for c in socks:
        c.close()
    time.sleep(0.3)
    healthy("after the connection flood")
    m = curl(B + "/metrics").body.decode()
    check("scittd_connections_refused_total 0" not in m,
          "refused connections counted")

    # A peer that asks for a lot, reads nothing and resets the connection
    # while our writes are pending: the next write fails with EPIPE, which
    # must close that connection, not raise SIGPIPE and kill the server.
    for _ in range(20):
        c = socket.create_connection(("127.0.0.1", srv.port))
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        big = struct.pack(">HI", 4, 0x7FFFFFFF)  # SETTINGS_INITIAL_WINDOW_SIZE
        c.sendall(PREFACE + frame(4, 0, 0, big) + frame(8, 0, 0, struct.pack(">I", 0x7FFF0000)))
        c.settimeout(0.05)
        try:
            for k in range(20):
                c.sendall(b"".join(frame(1, 0x5, 2 * (64 * k + i) + 1, header_block("/metrics")) for i in range(64)))
        except OSError:
            pass  # our send buffer is full too: the server stopped reading
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()  # RST
    time.sleep(0.3)
    check(srv.alive(), "alive after peers reset connections with responses pending (SIGPIPE ignored)")
    healthy("after reset connections")

    r = curl(B + "/healthz", headers=["x-big: " + "b" * 17000])
    check(r.status == 431 and r.problem() is not None, "header list over --max-header-bytes: 431 problem")
    check(srv.stop() == 0, "exit 0 after all that")

    # --max-streams-total bounds open streams across connections: POSTs whose
    # bodies never come hold their streams; past the cap new ones are refused.
    srv = Server(root, data=os.path.join(root, "data-streams"), args=["--max-streams-total", "6"]).start()
    B = srv.base
    a, b = H2(srv.port), H2(srv.port)
    held = [a.send("POST", "/entries", [("content-type", "application/cose")], end=False) for _ in range(4)]
    held += [b.send("POST", "/entries", [("content-type", "application/cose")], end=False) for _ in range(4)]
    def count_refused():
        return sum(1 for h in (a, b) for r in h.responses.values() if r["reset"] == 7)

    deadline = time.time() + 5
    while count_refused() < 2 and time.time() < deadline:
        for h in (a, b):
            try:
                h.pump(0.2)
            except OSError:  # socket.timeout: nothing more to read yet
                pass
    time.sleep(0.3)  # a third refusal would show up by now
    for h in (a, b):
        try:
            h.pump(0.2)
        except OSError:
            pass
    refused = count_refused()
    check(refused == 2, "streams past --max-streams-total are refused with REFUSED_STREAM (%d refused)" % refused)
    a.close()
    b.close()
    time.sleep(0.3)
    healthy("after the stream cap")
    check(srv.stop() == 0, "exit 0 after the stream cap")
finally:
    if srv is not None:
        srv.stop(timeout=5)
    cleanup(root)
finish()
