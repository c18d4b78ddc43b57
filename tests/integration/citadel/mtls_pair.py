#!/usr/bin/python3
"""A gRPC server and client (Debian's python3-grpcio) that talk over mutual TLS with the files
pilot-agent keeps, across the agent's renewals.

The server's credentials re-read --server-dir whenever its files change (gRPC asks for them at
each new handshake); the client re-creates its channel whenever --client-dir's files change.
The client calls /mesh.Echo/Call every --interval seconds until the server has seen --rotations
distinct client certificates (or --timeout passes), and prints one JSON document:
{"calls": N, "failures": [...], "client_certs_seen": K, "server_config_loads": L}.
Each answer carries the caller's SPIFFE ID as the server's TLS layer verified it.
"""
import argparse
import hashlib
import json
import os
import sys
import threading
import time
from concurrent import futures

import grpc


def read(path):
    with open(path, "rb") as f:
        return f.read()


def stamp(directory):
    out = []
    for name in ("cert-chain.pem", "key.pem", "root-cert.pem"):
        st = os.stat(os.path.join(directory, name))
        out.append((st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server-dir", required=True)
    p.add_argument("--client-dir", required=True)
    p.add_argument("--rotations", type=int, default=3)
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--timeout", type=float, default=120)
    args = p.parse_args()

    lock = threading.Lock()
    seen_clients = {}
    loads = [0]
    server_stamp = [None]

    def config():
        d = args.server_dir
        return grpc.ssl_server_certificate_configuration(
            [(read(os.path.join(d, "key.pem")), read(os.path.join(d, "cert-chain.pem")))],
            root_certificates=read(os.path.join(d, "root-cert.pem")))

    def fetch():
        s = stamp(args.server_dir)
        with lock:
            if s == server_stamp[0]:
                return None
            server_stamp[0] = s
            loads[0] += 1
        return config()

    server_stamp[0] = stamp(args.server_dir)
    loads[0] = 1
    creds = grpc.dynamic_ssl_server_credentials(config(), fetch,
                                                require_client_authentication=True)

    def call(request, context):
        auth = context.auth_context()
        pem = b"".join(auth.get("x509_pem_cert", []))
        sans = [v.decode() for v in auth.get("x509_subject_alternative_name", [])]
        with lock:
            seen_clients[hashlib.sha256(pem).hexdigest()] = True
        return json.dumps({"peer": [s for s in sans if s.startswith("spiffe://")]}).encode()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "mesh.Echo", {"Call": grpc.unary_unary_rpc_method_handler(call)})])
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()

    channel = None
    client_stamp = None
    calls = 0
    failures = []
    peers = set()
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        s = stamp(args.client_dir)
        if s != client_stamp:
            d = args.client_dir
            ch = grpc.ssl_channel_credentials(
                root_certificates=read(os.path.join(d, "root-cert.pem")),
                private_key=read(os.path.join(d, "key.pem")),
                certificate_chain=read(os.path.join(d, "cert-chain.pem")))
            if channel is not None:
                channel.close()
            channel = grpc.secure_channel("127.0.0.1:%d" % port, ch,
                                          [("grpc.ssl_target_name_override", "localhost")])
            client_stamp = s
        stub = channel.unary_unary("/mesh.Echo/Call")
        try:
            answer = json.loads(stub(b"hello", timeout=10))
            peers.update(answer["peer"])
        except grpc.RpcError as e:
            failures.append("%s: %s" % (e.code().name, e.details()))
        calls += 1
        with lock:
            if len(seen_clients) >= args.rotations:
                break
        time.sleep(args.interval)
    server.stop(0)
    with lock:
        out = {"calls": calls, "failures": failures, "client_certs_seen": len(seen_clients),
               "server_config_loads": loads[0], "peers": sorted(peers)}
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
