#!/usr/bin/env python3
"""Measures heartstreamd's resident memory around a WebSocket flood (issue 17, not run by CI).

One client sends MESSAGES invalid messages ("{") on /v1/stream and never reads the replies, then
drops the connection. Prints VmRSS before, at the end of the flood, and after the connection is
gone, and how the daemon ended the connection.

    tests/daemon/ws_flood_rss.py build/release/daemon/heartstreamd demo-model [messages]
"""
import base64
import os
import re
import socket
import subprocess
import sys
import time

PORT = 18931
MESSAGE = b"{"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def masked_text_frame(payload):
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def websocket(port):
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return s


def close_frame(data):
    """The close frame's code and reason, if `data` (everything read) ends with one."""
    i = 0
    while i + 2 <= len(data):
        opcode, length, i = data[i] & 0x0F, data[i + 1] & 0x7F, i + 2
        if length == 126:
            length, i = int.from_bytes(data[i:i + 2], "big"), i + 2
        elif length == 127:
            length, i = int.from_bytes(data[i:i + 8], "big"), i + 8
        if opcode == 0x8 and length >= 2:
            return int.from_bytes(data[i:i + 2], "big"), data[i + 2:i + length].decode(errors="replace")
        i += length
    return None


def main():
    daemon, model = sys.argv[1], sys.argv[2]
    messages = int(sys.argv[3]) if len(sys.argv) > 3 else 2_000_000
    proc = subprocess.Popen([daemon, "--model_path", model, "--version", "demo", "--port", str(PORT)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                socket.create_connection(("127.0.0.1", PORT)).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1)
        before = rss_kib(proc.pid)
        s = websocket(PORT)
        frame = masked_text_frame(MESSAGE)
        batch = frame * 1000
        sent = 0
        try:
            while sent < messages:
                s.sendall(batch)
                sent += 1000
        except OSError as e:
            print(f"send stopped after {sent} messages: {e}")
        during = rss_kib(proc.pid)
        s.settimeout(5)
        received = bytearray()
        try:
            while chunk := s.recv(1 << 20):
                received += chunk
        except OSError:
            pass
        closed = close_frame(received)
        s.close()
        time.sleep(2)
        after = rss_kib(proc.pid)
        print(f"messages sent: {sent}; close frame from the daemon: {closed}")
        print(f"VmRSS before {before / 1024:.1f} MiB, end of flood {during / 1024:.1f} MiB, "
              f"after the client left {after / 1024:.1f} MiB")
    finally:
        proc.terminate()
        proc.wait()


if __name__ == "__main__":
    main()
