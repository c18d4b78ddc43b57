#!/usr/bin/env python3
"""Writes the seed corpus of lean_port_fuzz: HTTP/2 frames a gRPC client sends after the
connection preface (SETTINGS, request HEADERS as HPACK literals, DATA with gRPC's message
prefix, PING, RST_STREAM, WINDOW_UPDATE, GOAWAY), well-formed and not. With --answers, the seeds
of lean_transport_fuzz instead: a first byte (even: a Check, odd: a Report), then what a server
sends on the connection (its SETTINGS, then answers on stream 1: headers, messages, trailers,
resets, GOAWAY), well-formed and not.

    tests/fuzz/make_lean_port_corpus.py tests/fuzz/corpus/lean_port
    tests/fuzz/make_lean_port_corpus.py --answers tests/fuzz/corpus/lean_transport
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


def answer(status="200", end_stream=False, extra=()):  # response HEADERS (or trailers-only)
    block = b"".join(literal(n, v) for n, v in ((":status", status), *extra))
    return frame(1, 0x4 | (0x1 if end_stream else 0), 1, block)


def trailers(code, text=None):
    fields = (("grpc-status", str(code)),) + ((("grpc-message", text),) if text else ())
    return frame(1, 0x5, 1, b"".join(literal(n, v) for n, v in fields))


GRPC = (("content-type", "application/grpc"),)
OK_HEAD = SETTINGS + frame(4, 1, 0) + answer(extra=GRPC)
ANSWERS = {
    "check_ok": b"\x00" + OK_HEAD + frame(0, 0, 1, message(b"")) + trailers(0),
    "report_ok": b"\x01" + OK_HEAD + frame(0, 0, 1, message(b"")) + trailers(0),
    "check_precondition": b"\x00" + OK_HEAD
    + frame(0, 0, 1, message(b"\x0a\x0a\x0a\x04\x08\x07\x12\x00\x18\x03")) + trailers(0),
    "trailers_only_denied": b"\x00" + SETTINGS
    + answer(end_stream=True, extra=GRPC + (("grpc-status", "7"), ("grpc-message", "no%20way"))),
    "bad_percent": b"\x00" + OK_HEAD + trailers(13, "%zz%4"),
    "http_503": b"\x00" + SETTINGS + answer("503", end_stream=True),
    "refused": b"\x00" + SETTINGS + frame(3, 0, 1, struct.pack(">I", 7)),
    "cancelled": b"\x01" + SETTINGS + frame(3, 0, 1, struct.pack(">I", 8)),
    "goaway_before": b"\x00" + SETTINGS + frame(7, 0, 0, struct.pack(">II", 0, 0)),
    "goaway_after": b"\x00" + OK_HEAD + frame(7, 0, 0, struct.pack(">II", 1, 0))
    + frame(0, 0, 1, message(b"")) + trailers(0),
    "compressed": b"\x00" + OK_HEAD + frame(0, 0, 1, message(b"\x1f", compressed=1)) + trailers(0),
    "short_prefix": b"\x00" + OK_HEAD + frame(0, 0, 1, b"\x00\x00") + trailers(0),
    "long_declared": b"\x00" + OK_HEAD + frame(0, 0, 1, b"\x00\x00\x50\x00\x00abc") + trailers(0),
    "two_messages": b"\x00" + OK_HEAD + frame(0, 0, 1, message(b"") + message(b"")) + trailers(0),
    "unparsable": b"\x00" + OK_HEAD + frame(0, 0, 1, message(b"\x0a\x05ab")) + trailers(0),
    "no_status": b"\x00" + OK_HEAD + frame(0, 1, 1, message(b"")),
    "no_settings": b"\x00" + answer(extra=GRPC) + trailers(0),
    "pings": b"\x01" + SETTINGS + frame(6, 0, 0, b"12345678") * 3 + answer(end_stream=True,
                                                                        extra=(("grpc-status", "0"),)),
    "even_stream": b"\x00" + SETTINGS + frame(1, 0x5, 2, literal(":status", "200")),
    "garbage": b"\x00" + b"\xff" * 40,
}

answers = len(sys.argv) > 1 and sys.argv[1] == "--answers"
if answers:
    sys.argv.pop(1)
    SEEDS = ANSWERS
out = sys.argv[1] if len(sys.argv) > 1 else (
    "tests/fuzz/corpus/lean_transport" if answers else "tests/fuzz/corpus/lean_port")
os.makedirs(out, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
