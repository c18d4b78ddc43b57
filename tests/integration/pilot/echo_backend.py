#!/usr/bin/python3
"""A gRPC backend for the pilot integration test: /pilot.test.Echo/Call answers "<version> <id>".

Prints "listening on <port>" once serving; runs until SIGTERM. No protobuf: raw bytes in and out.
"""
import argparse
import signal
import sys
import threading
from concurrent import futures

import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", required=True)
    parser.add_argument("--id", required=True)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()

    reply = f"{args.version} {args.id}".encode()

    def call(request, context):
        return reply

    handler = grpc.method_handlers_generic_handler(
        "pilot.test.Echo", {"Call": grpc.unary_unary_rpc_method_handler(call)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    server.start()
    print(f"listening on {port}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
