#!/usr/bin/env python3
"""Tests of the conformance harnesses themselves (not of the expression language):
- `--help` and a missing path answer with the usage and exit status 2;
- a failing case that is not in the known-failures list fails the run (exit 1);
- a listed case that passes fails the run, so the list is kept current;
- a listed key that names no case fails the run;
- a failing case that is listed, with every other case passing, is exit 0.

Usage: harness_test.py CEL_HARNESS CEXL_HARNESS SOURCE_DIR
Each harness runs on small suites written here, in the suites' own formats.
"""
import json
import os
import subprocess
import sys
import tempfile

CEL, CEXL, SRC = sys.argv[1], sys.argv[2], sys.argv[3]
failures = []


def run(argv):
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def expect(name, cond, output):
    if not cond:
        failures.append(name)
        print(f"FAIL {name}\n{output}")
    else:
        print(f"ok   {name}")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def cel_suite(directory):
    """A two-case CEL suite: `1 + 1 == 2` passes, `1 + 1` expected as 3 fails."""
    suite = {
        "name": "mini",
        "section": [{
            "name": "s",
            "test": [
                {"name": "passes", "expr": "1 + 1 == 2"},
                {"name": "fails", "expr": "1 + 1", "value": {"int64_value": 3}},
            ],
        }],
    }
    path = os.path.join(directory, "mini.json")
    write(path, json.dumps(suite))
    return path


def cexl_suite(directory):
    """A two-case CEXL suite in the type-check file format: one passes, one fails."""
    text = """manifest: {ai: INT64}
cases:
- name: passes
  expr: 'ai == 2'
  attributes: {ai: {type: INT64, value: 2}}
  expect: {type: BOOL, value: true}
- name: fails
  expr: 'ai + 1'
  attributes: {ai: {type: INT64, value: 2}}
  expect: {type: INT64, value: 4}
"""
    path = os.path.join(directory, "mini.yaml")
    write(path, text)
    return path


with tempfile.TemporaryDirectory() as tmp:
    for name, harness, make_suite, fail_key, pass_key in [
        ("cel", CEL, cel_suite, "mini/s/fails", "mini/s/passes"),
        ("cexl", CEXL, cexl_suite, "mini/fails", "mini/passes"),
    ]:
        code, out = run([harness, "--help"])
        expect(f"{name}: --help prints the usage, exit 2", code == 2 and "usage:" in out, out)
        code, out = run([harness, os.path.join(tmp, "no-such-dir")])
        expect(f"{name}: a missing path prints the usage, exit 2",
               code == 2 and "usage:" in out and "no-such-dir" in out, out)
        code, out = run([harness, "--no-such-flag"])
        expect(f"{name}: an unknown flag prints the usage, exit 2", code == 2 and "usage:" in out,
               out)

        suite = make_suite(tmp)
        empty = os.path.join(tmp, f"{name}_empty.yaml")
        write(empty, "known_failures: {}\n")
        code, out = run([harness, "--known-failures", empty, suite])
        expect(f"{name}: an unlisted failing case fails the run",
               code == 1 and f"FAIL {fail_key}" in out, out)

        listed = os.path.join(tmp, f"{name}_listed.yaml")
        write(listed, f'known_failures:\n  "{fail_key}": "expected to fail in this test"\n')
        code, out = run([harness, "--known-failures", listed, suite])
        expect(f"{name}: a listed failing case passes the run",
               code == 0 and "1 passed, 0 failed, 1 skipped" in out, out)

        now_passes = os.path.join(tmp, f"{name}_now_passes.yaml")
        write(now_passes,
              f'known_failures:\n  "{fail_key}": "listed"\n  "{pass_key}": "listed, but it passes"\n')
        code, out = run([harness, "--known-failures", now_passes, suite])
        expect(f"{name}: a listed case that passes fails the run",
               code == 1 and f"NOW PASSES {pass_key}" in out, out)

        stale = os.path.join(tmp, f"{name}_stale.yaml")
        write(stale, f'known_failures:\n  "{fail_key}": "listed"\nnot_run:\n  "mini/gone": "names no case"\n')
        code, out = run([harness, "--known-failures", stale, suite])
        expect(f"{name}: a key that names no case fails the run",
               code == 1 and "STALE mini/gone" in out, out)

        not_run = os.path.join(tmp, f"{name}_not_run.yaml")
        write(not_run, f'not_run:\n  "{fail_key}": "not run in this test"\n')
        code, out = run([harness, "--known-failures", not_run, suite])
        expect(f"{name}: a not_run case is not run",
               code == 0 and "1 passed, 0 failed, 1 skipped" in out, out)

        no_reason = os.path.join(tmp, f"{name}_no_reason.yaml")
        write(no_reason, f'known_failures:\n  "{fail_key}": ""\n')
        code, out = run([harness, "--known-failures", no_reason, suite])
        expect(f"{name}: an entry without a reason is refused", code == 2 and "reason" in out, out)

    # The committed suites and lists agree with today's engine (the ctest entries run this too;
    # here it shows the defaults find the data kept in the repository).
    code, out = run([CEL, "--known-failures", os.path.join(SRC, "cel_known_failures.yaml")])
    expect("cel: the default suite is the repository's", code == 0, out)
    code, out = run([CEXL, "--known-failures", os.path.join(SRC, "cexl_known_failures.yaml")])
    expect("cexl: the default suite is the repository's", code == 0, out)

print(f"{len(failures)} failed" if failures else "all passed")
sys.exit(1 if failures else 0)
