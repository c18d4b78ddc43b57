#!/usr/bin/env python3
"""The repository carries every file its build, tests, benchmarks and docs read.

Fails, naming file and line, when a tracked text file refers to a path outside the repository:
- the sibling folder that sits beside developers' checkouts but not beside a user's clone
  (a `..` followed by `/shared`), anywhere in any file;
- a relative path (`../x`) that, resolved against the directory of the file naming it, leaves the
  repository; and `${CMAKE_SOURCE_DIR}/..` or `$MIXER_SOURCE_DIR/..`, which always do;
- an absolute path into a particular machine's home or work folders (/home/, /root/, /work/).

Before checking the repository it checks itself on a small tree with one reference of each kind,
so a guard that finds nothing cannot pass unnoticed.

Usage: self_contained_test.py SOURCE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

SIBLING = ".." + "/shared"  # spelled in two parts so that this file does not match itself
RELATIVE = re.compile(r"""(?:(?<=^)|(?<=[\s"'`(=:,\[<]))((?:\.\./)+(?:\.\.(?=$|[\s"'`)\],>])|[\w.\-]+))""")
ROOT_ANCHORED = re.compile(r"\$\{?(?:CMAKE_SOURCE_DIR|PROJECT_SOURCE_DIR|MIXER_SOURCE_DIR)\}?/\.\.(?![\w.])")
FILE_ANCHORED = re.compile(r"\$\{CMAKE_CURRENT_SOURCE_DIR\}/((?:\.\./)*\.\.)(?![\w.])")
MACHINE = re.compile(r"(?<![\w.])/(?:home|root|work)/[\w.\-]")


def tracked_files(root):
    try:
        out = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True,
                             check=True).stdout
        return [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for d, dirs, names in os.walk(root):
            dirs[:] = [x for x in dirs if x not in (".git", "build")]
            files += [os.path.relpath(os.path.join(d, n), root) for n in names]
        return files


def leaves(root, base_dir, rel):
    """True when `rel`, taken relative to `base_dir` (inside root), resolves outside root."""
    target = os.path.normpath(os.path.join(root, base_dir, rel))
    return os.path.relpath(target, os.path.normpath(root)).startswith("..")


def check(root, files, skip=()):
    problems = []
    for rel in files:
        if rel in skip:
            continue
        path = os.path.join(root, rel)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue  # a tracked file deleted in the work tree
        if b"\0" in data[:8192]:
            continue  # binary
        text = data.decode("utf-8", "replace")
        base = os.path.dirname(rel)
        for n, line in enumerate(text.splitlines(), 1):
            where = f"{rel}:{n}"
            if SIBLING in line:
                problems.append(f"{where}: names the sibling folder {SIBLING}, which a clone lacks")
            if ROOT_ANCHORED.search(line):
                problems.append(f"{where}: a path above the repository root")
            for m in FILE_ANCHORED.finditer(line):
                if leaves(root, base, m.group(1)):
                    problems.append(f"{where}: {m.group(0)} leaves the repository")
            for m in RELATIVE.finditer(line):
                if leaves(root, base, m.group(1)):
                    problems.append(f"{where}: {m.group(1)} leaves the repository "
                                    f"(relative to {base or '.'}/)")
            if MACHINE.search(line):
                problems.append(f"{where}: an absolute path on one machine: "
                                f"{MACHINE.search(line).group(0)}...")
    return problems


def self_test():
    """The guard finds each kind of reference in a small tree, and accepts the legitimate ones."""
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            "a/b/test.cc": f'std::string p = "{SIBLING}/x.yaml";\n',
            "CMakeLists.txt": "set(X ${CMAKE_SOURCE_DIR}/../data)\n",
            "docs/guide.md": "see [the other](../../elsewhere/file.md)\n",
            "scripts/run.sh": "cat /work/project/data.txt\n",
            "tests/x/CMakeLists.txt": "set(Y ${CMAKE_CURRENT_SOURCE_DIR}/../../..)\n",
            # Legitimate: resolves inside the repository.
            "docs/ok.md": "see [sdk](../docs/guide.md) and `../README.md`\n",
            "a/b/ok.cc": '#include "../../CMakeLists.txt"\n',
            "tests/x/ok.txt": "${CMAKE_CURRENT_SOURCE_DIR}/../..\n",
        }
        for rel, text in files.items():
            os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w") as f:
                f.write(text)
        found = check(tmp, sorted(files))
        bad = {p.split(":")[0] for p in found}
        want = {"a/b/test.cc", "CMakeLists.txt", "docs/guide.md", "scripts/run.sh",
                "tests/x/CMakeLists.txt"}
        if bad != want:
            print("self-test FAILED: flagged", sorted(bad), "expected", sorted(want))
            print("\n".join(found))
            return False
    return True


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    if not self_test():
        return 1
    files = tracked_files(root)
    # This file's own examples of bad references (above, for the self-test) are not references.
    this = os.path.relpath(os.path.abspath(__file__), os.path.abspath(root))
    problems = check(root, files, skip={this})
    for p in problems:
        print(p)
    print(f"checked {len(files)} tracked files: {len(problems)} reference(s) outside the repository")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
