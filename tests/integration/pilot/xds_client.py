#!/usr/bin/python3
"""A proxyless gRPC xDS client for the pilot integration test (Debian's python3-grpcio).

GRPC_XDS_BOOTSTRAP must name a bootstrap file pointing at pilot-discovery. Commands are read one
per line from the FIFO named by --commands, so the channel (and its xDS state) lives across
configuration changes:

  CALL <tag> <count> <target> [<header>=<value> ...]

makes <count> RPCs to xds:///<target> and prints one line
  RESULT <tag> {"v1 a": 812, "v2 b": 188, "error:UNAVAILABLE": 0 ...}
"""
import argparse
import json
import sys

import grpc


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--commands", required=True)
    args = parser.parse_args()
    channels = {}
    print("ready", flush=True)
    with open(args.commands, "r") as commands:
        for line in commands:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "QUIT":
                break
            if parts[0] != "CALL" or len(parts) < 4:
                print(f"RESULT ? {{\"bad command\": 1}}", flush=True)
                continue
            tag, count, target = parts[1], int(parts[2]), parts[3]
            metadata = tuple(tuple(kv.split("=", 1)) for kv in parts[4:])
            channel = channels.get(target)
            if channel is None:
                channel = grpc.insecure_channel(f"xds:///{target}")
                channels[target] = channel
            call = channel.unary_unary("/pilot.test.Echo/Call")
            counts = {}
            for _ in range(count):
                try:
                    key = call(b"", metadata=metadata, timeout=5).decode()
                except grpc.RpcError as e:
                    key = f"error:{e.code().name}"
                counts[key] = counts.get(key, 0) + 1
            print(f"RESULT {tag} {json.dumps(counts, sort_keys=True)}", flush=True)
    for channel in channels.values():
        channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
