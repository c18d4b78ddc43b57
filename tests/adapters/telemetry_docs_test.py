#!/usr/bin/python3
"""Checks the telemetry docs against the real tools.

usage: telemetry_docs_test.py <source dir> <mixs binary>
- Every YAML example under `## prometheus` and `## zipkin` in docs/adapters.md passes
  `mixs validate` (which creates no handler, so no port is bound).
- The standard-metrics example is exactly what mixer/runtime/embedded_config.yaml (the embedded
  default configuration) contains.
- docs/grafana/mixer-telemetry.json is a dashboard whose every PromQL expression passes
  `promtool check rules` (Grafana's variables replaced by sample values).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml


def section(text, heading):
    start = text.index("\n## " + heading + "\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else len(text)]


def main():
    source, mixs = sys.argv[1], sys.argv[2]
    failures = []
    with open(os.path.join(source, "docs/adapters.md")) as f:
        doc = f.read()
    examples = 0
    for heading in ("prometheus", "zipkin"):
        for block in re.findall(r"```yaml\n(.*?)```", section(doc, heading), re.S):
            examples += 1
            docs = list(yaml.safe_load_all(block))
            for d in docs:
                if d.get("kind") == "prometheus":
                    d["spec"]["address"] = "127.0.0.1:0"
                for a in d.get("adapters", []) or []:
                    if a.get("impl") == "prometheus":
                        a["params"] = dict(a.get("params") or {}, address="127.0.0.1:0")
            with tempfile.TemporaryDirectory() as tmp:
                with open(os.path.join(tmp, "example.yaml"), "w") as out:
                    yaml.safe_dump_all(docs, out)
                r = subprocess.run([mixs, "validate", tmp], capture_output=True, text=True)
                if r.returncode != 0 or "valid:" not in r.stdout + r.stderr:
                    failures.append("%s example %d: %s%s" % (heading, examples, r.stdout, r.stderr))
    marker = "### Istio's standard HTTP metrics (the embedded default configuration)"
    standard = list(yaml.safe_load_all(
        re.search(r"```yaml\n(.*?)```", doc[doc.index(marker):], re.S).group(1)))
    with open(os.path.join(source, "mixer/runtime/embedded_config.yaml")) as f:
        embedded = [d for d in yaml.safe_load_all(f) if d]
    for d in embedded:
        if d.get("kind") == "prometheus":
            d["spec"].pop("address", None)
    for d in standard:
        if d not in embedded:
            failures.append("standard metrics example: %s %s is not in the embedded configuration"
                            % (d.get("kind"), d.get("metadata", {}).get("name")))
    if len(standard) < 6:
        failures.append("standard metrics example: expected 6 documents, found %d" % len(standard))
    if examples < 4:
        failures.append("expected at least 4 examples, found %d" % examples)

    with open(os.path.join(source, "docs/grafana/mixer-telemetry.json")) as f:
        dashboard = json.load(f)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    if len(exprs) < 10:
        failures.append("expected at least 10 queries, found %d" % len(exprs))
    for metric in ("istio_requests_total", "istio_request_duration_seconds_bucket",
                   "istio_request_bytes_bucket", "istio_response_bytes_bucket",
                   "grpc_server_handled_total", "grpc_server_handling_seconds_bucket",
                   "mixer_config_generation"):
        if not any(metric in e for e in exprs):
            failures.append("no panel queries " + metric)
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": "dashboard:query_%d" % i,
         "expr": e.replace("$__rate_interval", "1m").replace("$service", ".*")}
        for i, e in enumerate(exprs)]}]}
    with tempfile.NamedTemporaryFile("w", suffix=".yml") as out:
        yaml.safe_dump(rules, out)
        out.flush()
        r = subprocess.run(["promtool", "check", "rules", out.name], capture_output=True,
                           text=True)
        if r.returncode != 0:
            failures.append("promtool check rules: " + r.stdout + r.stderr)
    for f in failures:
        print("FAIL:", f)
    if not failures:
        print("ok: %d examples validated, %d dashboard queries parsed" % (examples, len(exprs)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
