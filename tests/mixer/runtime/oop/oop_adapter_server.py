#!/usr/bin/env python3
"""An Istio 1.x out-of-process adapter for the tests: a gRPC server whose services and messages are
built at run time from the `kind: template` documents given on the command line (the same Istio
descriptors mixs reads), with no generated code.

It serves every template's Handle<Template>Service:
  - report templates (metric, ...): appends each request, as JSON, to --log and answers ReportResult;
  - check templates (listentry, ...): allows the instance when its `value` is in --allow, else
    answers PERMISSION_DENIED; valid_duration --valid-duration-ms, valid_use_count --valid-use-count;
  - quota: grants min(amount, what is left of --quota-max for the instance), valid 3 s.
Every request is logged to --log (one JSON object a line: method, request, adapter_config type).
--delay-ms makes every answer late (deadline tests). Prints "PORT <n>" once serving.
"""
import argparse
import base64
import json
import sys
import threading
import time
from concurrent import futures

import grpc
import yaml
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def load_templates(paths):
    """{template name: (pool, service descriptor)} from the kind: template documents in `paths`."""
    out = {}
    for path in paths:
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if not doc or doc.get("kind") != "template":
                    continue
                fds = descriptor_pb2.FileDescriptorSet.FromString(
                    base64.b64decode(doc["spec"]["descriptor"]))
                pool = descriptor_pool.DescriptorPool()
                service = None
                for fd in fds.file:
                    pool.Add(fd)
                    for s in fd.service:
                        if service is None and s.name.startswith("Handle"):
                            service = (fd.package, s.name, s.method[0])
                out[doc["metadata"]["name"]] = (pool, service)
    return out


def message_class(pool, full_name):
    desc = pool.FindMessageTypeByName(full_name)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("templates", nargs="+")
    ap.add_argument("--log", required=True)
    ap.add_argument("--allow", default="")
    ap.add_argument("--valid-duration-ms", type=int, default=5000)
    ap.add_argument("--valid-use-count", type=int, default=7)
    ap.add_argument("--quota-max", type=int, default=3)
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()

    allow = set(v for v in args.allow.split(",") if v)
    lock = threading.Lock()
    used = {}
    log = open(args.log, "a")

    handlers = {}
    for name, (pool, (package, service, method)) in load_templates(args.templates).items():
        req_cls = message_class(pool, method.input_type.lstrip("."))
        resp_cls = message_class(pool, method.output_type.lstrip("."))

        def handle(request, context, name=name, method=method, resp_cls=resp_cls):
            if args.delay_ms:
                time.sleep(args.delay_ms / 1000.0)
            shown = type(request)()
            shown.CopyFrom(request)
            shown.ClearField("adapter_config")  # its type is the adapter's, not in this pool
            record = {
                "method": method.name,
                "adapter_config_type": request.adapter_config.type_url,
                "adapter_config": base64.b64encode(request.adapter_config.value).decode(),
                "request": json_format.MessageToDict(shown, preserving_proto_field_name=True),
            }
            with lock:
                log.write(json.dumps(record) + "\n")
                log.flush()
            resp = resp_cls()
            if resp.DESCRIPTOR.name == "CheckResult":
                value = request.instance.value
                which = value.WhichOneof("value")
                text = getattr(value, which) if which == "string_value" else ""
                if text not in allow:
                    resp.status.code = 7
                    resp.status.message = "%s is not listed" % text
                resp.valid_duration.FromMilliseconds(args.valid_duration_ms)
                resp.valid_use_count = args.valid_use_count
            elif resp.DESCRIPTOR.name == "QuotaResult":
                for key, params in request.quota_request.quotas.items():
                    with lock:
                        left = args.quota_max - used.get(key, 0)
                        granted = min(params.amount, max(left, 0))
                        if not params.best_effort and granted < params.amount:
                            granted = 0
                        used[key] = used.get(key, 0) + granted
                    resp.quotas[key].granted_amount = granted
                    resp.quotas[key].valid_duration.FromSeconds(3)
            return resp

        path = "%s.%s" % (package, service)
        handlers.setdefault(path, {})[method.name] = grpc.unary_unary_rpc_method_handler(
            handle, request_deserializer=req_cls.FromString,
            response_serializer=lambda m: m.SerializeToString())

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    for path, methods in handlers.items():
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(path, methods),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print("PORT %d" % port, flush=True)
    try:
        server.wait_for_termination()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
