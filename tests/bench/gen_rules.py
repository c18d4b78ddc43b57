#!/usr/bin/env python3
"""Writes a configuration directory with N rules for the Check benchmark (Istio 1.x model).

Rule 0 matches the benchmark's request (destination.service.host reviews.default.svc.cluster.local)
and calls a denier that answers OK; the other N-1 rules select other services and never match,
so the server evaluates N selectors per Check, as a mesh-wide configuration makes it do.

Usage: gen_rules.py DIR N
"""
import os
import sys

HEAD = """apiVersion: config.istio.io/v1alpha2
kind: denier
metadata: {name: allow, namespace: istio-system}
spec:
  status: {code: 0}
  validDuration: 10s
  validUseCount: 100
---
apiVersion: config.istio.io/v1alpha2
kind: checknothing
metadata: {name: nothing, namespace: istio-system}
"""

RULE = """---
apiVersion: config.istio.io/v1alpha2
kind: rule
metadata: {name: rule%(i)d, namespace: istio-system}
spec:
  match: destination.service.host == "%(svc)s" && request.headers["x-tenant"] == "t%(i)d"
  actions:
  - handler: allow.denier
    instances: [nothing.checknothing]
"""


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "rules.yaml"), "w") as f:
        f.write(HEAD)
        for i in range(n):
            svc = "reviews.default.svc.cluster.local" if i == 0 else "svc%d.default.svc.cluster.local" % i
            f.write(RULE % {"i": i, "svc": svc})


if __name__ == "__main__":
    main()
