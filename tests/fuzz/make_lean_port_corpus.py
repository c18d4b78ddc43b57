#!/usr/bin/env python3
"""Writes the seed corpus of lean_port_fuzz: HTTP/2 frames a gRPC client sends after the
connection preface (SETTINGS, request HEADERS as HPACK literals, DATA with gRPC's message
prefix, PING, RST_STREAM, WINDOW_UPDATE, GOAWAY), well-formed and not.

    tests/fuzz/make_lean_port_corpus.py tests/fuzz/corpus/lean_port
"""
import os
import struct
import sys


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def literal(name, value):  # HPACK literal header field without indexing, new name
    name, value = name.encode(), value.encode()
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def headers(stream, path, end_stream=False, extra=()):
    block = b"".join(literal(n, v) for n, v in (
        (":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "mixs"),
        ("content-type", "application/grpc"), ("te", "trailers"), *extra))
    return frame(1, 0x4 | (0x1 if end_stream else 0), stream, block)


def message(body, compressed=0):
    return bytes([compressed]) + struct.pack(">I", len(body)) + body


SETTINGS = frame(4, 0, 0)
CHECK = "/istio.mixer.v1.Mixer/Check"
REPORT = "/istio.mixer.v1.Mixer/Report"
SEEDS = {
    "check": SETTINGS + headers(1, CHECK) + frame(0, 1, 1, message(b"\x10\xde\x01")),
    "report": SETTINGS + headers(1, REPORT) + frame(0, 1, 1, message(b"")),
    "two_calls": SETTINGS + headers(1, CHECK) + headers(3, REPORT)
    + frame(0, 1, 3, message(b"x")) + frame(0, 1, 1, message(b"y")),
    "error_answer": SETTINGS + headers(1, CHECK) + frame(0, 1, 1, message(b"e")),
    "split_message": SETTINGS + headers(1, CHECK) + frame(0, 0, 1, message(b"abcdef")[:3])
    + frame(0, 1, 1, message(b"abcdef")[3:]),
    "over_limit": SETTINGS + headers(1, CHECK) + frame(0, 1, 1, message(b"z" * 5000)),
    "compressed": SETTINGS + headers(1, CHECK, extra=(("grpc-encoding", "gzip"),))
    + frame(0, 1, 1, message(b"\x1f\x8b", compressed=1)),
    "timeout": SETTINGS + headers(1, CHECK, extra=(("grpc-timeout", "100m"),))
    + frame(0, 1, 1, message(b"")),
    "bad_timeout": SETTINGS + headers(1, CHECK, extra=(("grpc-timeout", "1.5S"),))
    + frame(0, 1, 1, message(b"")),
    "unknown_method": SETTINGS + headers(1, "/grpc.health.v1.Health/Check", end_stream=True),
    "no_message": SETTINGS + headers(1, CHECK, end_stream=True),
    "two_messages": SETTINGS + headers(1, CHECK) + frame(0, 1, 1, message(b"a") + message(b"b")),
    "truncated_prefix": SETTINGS + headers(1, CHECK) + frame(0, 1, 1, b"\x00\x00"),
    "rst_then_data": SETTINGS + headers(1, CHECK) + frame(3, 0, 1, b"\x00\x00\x00\x08")
    + frame(0, 1, 1, message(b"late")),
    "pings": SETTINGS + frame(6, 0, 0, b"12345678") * 4,
    "window_update": SETTINGS + frame(8, 0, 0, b"\x00\x01\x00\x00"),
    "goaway": SETTINGS + frame(7, 0, 0, b"\x00\x00\x00\x00\x00\x00\x00\x00"),
    "many_streams": SETTINGS + b"".join(headers(2 * i + 1, CHECK) for i in range(12)),
    "big_metadata": SETTINGS + headers(1, CHECK, extra=(("x-pad", "p" * 120),) * 10)
    + frame(0, 1, 1, message(b"")),
    "even_stream": SETTINGS + headers(2, CHECK, end_stream=True),
}

out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/lean_port"
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
