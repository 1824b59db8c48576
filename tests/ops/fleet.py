"""Processes and clients for tests/ops/haproxy_test.py: heartstreamd on the demo model, HAProxy with
etc/haproxy/heartstream.cfg on loopback, and songs streamed over WebSocket or POST in the background.
Python's standard library only. Every wait polls a condition up to a deadline."""

import base64
import csv
import http.client
import io
import json
import os
import re
import signal
import socket
import struct
import subprocess
import threading
import time

DEADLINE_S = 20  # the longest any condition may take on a loaded machine
LONG_SONG_MS = 240000  # outlives every test (ended by closing its connection); the daemon's default
                       # length, which its KV cache holds max_sessions songs of
SHORT_SONG_MS = 2000


def wait_until(condition, what, timeout_s=DEADLINE_S):
    """Polls condition() every 20 ms until it is truthy and returns it; AssertionError after timeout_s."""
    end = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    """(status, body) of GET path on 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


class Daemon:
    """heartstreamd on the demo model, on a free loopback port; log in work/NAME.log."""

    def __init__(self, binary, model_dir, work, name, max_sessions):
        self.name = name
        self.log_path = os.path.join(work, f"{name}.log")
        config = os.path.join(work, f"{name}.yaml")
        with open(config, "w") as f:
            # A song may run only 1 s ahead of playback: long songs then cost little CPU. Whether a
            # daemon takes a song must follow max_sessions alone: two CPU daemons beside other tests
            # on two cores cannot keep even two demo songs real time, and real-time admission would
            # call them full (HAProxy then answers 503).
            f.write(f"server:\n  port: 0\n  max_sessions: {max_sessions}\n  realtime_headroom: off\n"
                    "streaming:\n  lookahead_s: 1\n"
                    f"model:\n  path: {model_dir}\n  version: demo\n")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, "--config", config], stdout=self.log, stderr=subprocess.STDOUT)
        self.port = int(wait_until(self._listening_port, f"{name} to listen"))

    def _listening_port(self):
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.process.returncode}:\n{self.read_log()}")
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", self.read_log())
        return found and found.group(1)

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def sessions_active(self):
        status, body = http_get(self.port, "/metrics")
        assert status == 200, f"{self.name} /metrics: {status}"
        return int(float(re.search(r"^heartstream_sessions_active (\S+)$", body, re.M).group(1)))

    def kill(self, sig=signal.SIGKILL):
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self):
        self.kill()
        self.process.wait()
        self.log.close()


class Haproxy:
    """haproxy -db with `config` as it is but for the addresses: the frontend's bind, the stats
    page's bind and one server line per daemon (in order) become loopback ones."""

    def __init__(self, config, work, daemons):
        with open(config) as f:
            text = f.read()
        servers = re.findall(r"^(\s*server\s+)(\S+)\s+\S+", text, re.M)
        assert len(servers) == len(daemons), f"{config} has {len(servers)} server lines, the test {len(daemons)} daemons"
        self.server_names = [name for _, name in servers]
        lines = iter(f"{indent}{name} 127.0.0.1:{d.port}" for (indent, name), d in zip(servers, daemons))
        text = re.sub(r"^\s*server\s+\S+\s+\S+", lambda m: next(lines), text, flags=re.M)
        self.port, self.stats_port = free_port(), free_port()
        text, binds = re.subn(r"^(\s*bind\s+):8000\b", rf"\g<1>127.0.0.1:{self.port}", text, flags=re.M)
        text, stats = re.subn(r"^(\s*bind\s+)127\.0\.0\.1:8404\b", rf"\g<1>127.0.0.1:{self.stats_port}", text, flags=re.M)
        assert binds == 1 and stats == 1, f"{config}: expected one 'bind :8000' and one 'bind 127.0.0.1:8404'"
        path = os.path.join(work, "haproxy.cfg")
        with open(path, "w") as f:
            # Debian's /etc/haproxy/haproxy.cfg gives the global section in production.
            f.write("global\n  log stderr format short local0 info\n\n" + text)
        self.log_path = os.path.join(work, "haproxy.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", path], stdout=self.log, stderr=subprocess.STDOUT)

    def server_states(self):
        """{server name: (status, last check)}, e.g. {'hs1': ('UP', 'L7OK')}, from the stats CSV."""
        if self.process.poll() is not None:
            raise AssertionError(f"haproxy exited with {self.process.returncode}:\n{self.read_log()}")
        try:
            status, body = http_get(self.stats_port, "/stats;csv")
        except OSError:
            return {}  # not listening yet
        rows = csv.DictReader(io.StringIO(body.lstrip("# ")))
        return {r["svname"]: (r["status"], r["check_status"]) for r in rows
                if r["pxname"] == "heartstreamd" and r["svname"] in self.server_names}

    def wait_states(self, wanted):
        """Waits until every server named in `wanted` ({'hs1': 'UP'}) is in that state after a check."""
        check = {"UP": "L7OK", "DOWN": None}

        def reached():
            states = self.server_states()
            return all(name in states and states[name][0] == state and
                       (check[state] is None or states[name][1] == check[state]) for name, state in wanted.items())
        wait_until(reached, f"haproxy servers {wanted} (now {self.server_states()})")

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait()
        self.log.close()


def song_request(length_ms):
    return {"type": "generate", "tags": "piano", "lyrics": "[verse] la la", "max_audio_length_ms": length_ms, "seed": 1}


class Song:
    """A song streaming in a background thread: what arrived and how it ended."""

    def __init__(self):
        self.cond = threading.Condition()
        self.audio_bytes = 0
        self.events = []       # JSON messages (WebSocket) or {"type": "status", ...} (POST)
        self.ended = None      # "done", "error", "closed" (the connection ended without either)

    def _record(self, event=None, audio_bytes=0, ended=None):
        with self.cond:
            if event is not None:
                self.events.append(event)
            self.audio_bytes += audio_bytes
            if ended and not self.ended:
                self.ended = ended
            self.cond.notify_all()

    def wait(self, condition, what, timeout_s=DEADLINE_S):
        with self.cond:
            if not self.cond.wait_for(lambda: condition(self), timeout_s):
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}; events {self.events[-3:]}, "
                                     f"{self.audio_bytes} audio bytes, ended {self.ended}")

    def wait_started(self):
        self.wait(lambda s: s.started() or s.ended, "the song to start")
        assert self.started(), f"the song did not start: {self.events}"

    def error_code(self):
        return next((e.get("code") for e in self.events if e.get("type") == "error"), None)


class WebSocketSong(Song):
    """A `generate` on GET /v1/stream: a minimal RFC 6455 client (text out masked, frames in)."""

    def __init__(self, port, length_ms):
        super().__init__()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            assert chunk, "the connection closed during the WebSocket upgrade"
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), f"upgrade refused: {head.decode(errors='replace')}"
        self._send_text(json.dumps(song_request(length_ms)))
        self.sock.settimeout(None)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def started(self):
        return any(e.get("type") == "started" for e in self.events)

    def _send_text(self, text):
        payload, mask = text.encode(), os.urandom(4)
        header = bytes([0x81]) + (bytes([0x80 | len(payload)]) if len(payload) < 126
                                  else bytes([0x80 | 126]) + struct.pack("!H", len(payload)))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _take(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _read(self):
        try:
            while True:
                first, second = self._take(2)
                length = second & 0x7F
                if length == 126:
                    length = struct.unpack("!H", self._take(2))[0]
                elif length == 127:
                    length = struct.unpack("!Q", self._take(8))[0]
                payload, opcode = self._take(length), first & 0x0F
                if opcode == 0x1:
                    event = json.loads(payload)
                    self._record(event=event, ended=event["type"] if event["type"] in ("done", "error") else None)
                elif opcode == 0x2:
                    self._record(audio_bytes=len(payload))
                elif opcode == 0x8:
                    break
        except (EOFError, OSError):
            pass
        self._record(ended="closed")

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.reader.join()
        self.sock.close()


class PostSong(Song):
    """POST /v1/generate: an Ogg Opus body read as it streams; `done` when the body ended whole."""

    def __init__(self, port, length_ms):
        super().__init__()
        self.closing = False
        self.reader = None
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=DEADLINE_S)
        self.conn.request("POST", "/v1/generate", json.dumps(song_request(length_ms)),
                          {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        self._record(event={"type": "status", "status": response.status})
        if response.status != 200:
            self._record(event=json.loads(response.read()), ended="error")
            return
        self.conn.sock.settimeout(None)
        self.reader = threading.Thread(target=self._read, args=(response,), daemon=True)
        self.reader.start()

    def started(self):
        return self.events[0]["status"] == 200

    def _read(self, response):
        try:
            while chunk := response.read1(65536):
                self._record(audio_bytes=len(chunk))
            self._record(ended="closed" if self.closing else "done")
        except (http.client.HTTPException, OSError, ValueError):
            pass
        self._record(ended="closed")

    def close(self):
        self.closing = True
        if self.conn.sock:
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self.reader:
            self.reader.join()
        self.conn.close()
