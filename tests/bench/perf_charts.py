#!/usr/bin/python3
"""Renders the charts docs/performance.md shows from the recorded results in docs/perf-data/*.csv
(Debian's python3-matplotlib). `make perf-charts` runs it; it writes PNG files beside the CSVs."""
import csv
import os
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


def save(fig, out):
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def median_range(values):
    """The median of the values and its distances to their smallest and largest."""
    v = sorted(values)
    m = v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
    return m, m - v[0], v[-1] - m


def server_cpu(data, out):
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ref = [r for r in data if r["run"].startswith("reference")]
    ops = sorted({r["operation"] for r in ref}, key=lambda o: o != "Check")
    servers = ["Istio 1.1 mixs", "mixs"]
    width = 0.35
    for i, server in enumerate(servers):
        vals = []
        errs = []
        for op in ops:
            r = next(x for x in ref if x["operation"] == op and x["server"] == server)
            lo, hi = float(r["us_low"]), float(r["us_high"])
            vals.append((lo + hi) / 2)
            errs.append((hi - lo) / 2)
        xs = [j + (i - 0.5) * width for j in range(len(ops))]
        axes[0].bar(xs, vals, width, yerr=errs, label=server, capsize=3)
    axes[0].set_xticks(range(len(ops)), ops)
    axes[0].set_ylabel("server CPU per operation (µs)")
    axes[0].set_title("Side by side with Istio 1.1 (reference run)")
    axes[0].legend()
    same = [r for r in data if not r["run"].startswith("reference")]
    names = [r["server"] for r in same]
    lows = [float(r["us_low"]) for r in same]
    highs = [float(r["us_high"]) for r in same]
    axes[1].bar(names, [(a + b) / 2 for a, b in zip(lows, highs)],
                yerr=[(b - a) / 2 for a, b in zip(lows, highs)], capsize=3,
                color=["#999999", "#1f77b4"])
    axes[1].set_ylabel("server CPU per Check (µs)")
    axes[1].set_title("Against the bare gRPC server, same run")
    save(fig, out)


def quota(data, out):
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    names = [textwrap.fill(r["case"], 16) for r in data]  # three labels side by side
    colors = ["#1f77b4", "#d62728", "#2ca02c"][:len(data)]
    axes[0].bar(names, [float(r["mixs_us_per_call"]) for r in data], color=colors)
    axes[0].set_ylabel("mixs CPU per call (µs)")
    axes[0].axhline(float(data[0]["mixs_us_per_call"]) * 1.3, ls="--", color="gray",
                    label="goal: 1.3x the plain Check")
    axes[0].legend(fontsize=8)
    axes[1].bar(names, [float(r["context_switches_per_call"]) for r in data], color=colors)
    axes[1].axhline(0.5, ls="--", color="gray", label="goal: 0.5")
    axes[1].set_ylabel("context switches per call")
    axes[1].legend(fontsize=8)
    fig.suptitle("A quota Check against a plain one (same run)")
    save(fig, out)


def latency(data, out):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ok = [r for r in data if float(r["achieved_rate"]) >= 0.98 * float(r["target_rate"])]
    for fraction, color in (("0.5", "#1f77b4"), ("0.9", "#ff7f0e")):
        sel = [r for r in ok if r["fraction"] == fraction]
        ax.scatter([float(r["achieved_rate"]) for r in sel], [float(r["p99_us"]) / 1000 for r in sel],
                   color=color, label=f"p99 at {int(float(fraction) * 100)}% of the maximum")
        ax.scatter([float(r["achieved_rate"]) for r in sel], [float(r["p50_us"]) / 1000 for r in sel],
                   color=color, marker="x", label=f"p50 at {int(float(fraction) * 100)}%")
    ax.axhline(1.0, ls="--", color="gray", label="goal: p99 1 ms at 50%")
    ax.set_yscale("log")
    ax.set_xlabel("Checks per second (open loop)")
    ax.set_ylabel("latency (ms)")
    ax.legend(fontsize=7)
    ax.set_title("Check latency under load")
    save(fig, out)


def latency_by_rate(data, out):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for server, color, label in (("mixs", "#1f77b4", "mixs"),
                                 ("floor", "#7f7f7f", "bare gRPC C++ server (floor)")):
        sel = [r for r in data if r["server"] == server]
        ax.scatter([float(r["achieved"]) for r in sel], [float(r["p99"]) / 1000 for r in sel],
                   color=color, label=f"p99, {label}")
        ax.scatter([float(r["achieved"]) for r in sel], [float(r["p999"]) / 1000 for r in sel],
                   color=color, marker="x", label=f"p99.9, {label}")
    ax.axhline(1.0, ls="--", color="gray", label="goal: p99 1 ms")
    ax.set_yscale("log")
    ax.set_xlabel("Checks per second (open loop, pinned)")
    ax.set_ylabel("latency (ms)")
    ax.legend(fontsize=7)
    ax.set_title("Check latency by rate: mixs against the gRPC floor")
    save(fig, out)


def tls(data, out):
    """The TLS and mTLS Check's CPU over the same server's plain-text Check, by load: the median of
    the rounds, with their range."""
    servers = [("mixs", "mixs"), ("grpc-floor", "gRPC C++ floor"),
               ("h2-floor", "libnghttp2 floor + OpenSSL")]
    loads = []
    for r in data:
        if r["load"] not in loads:
            loads.append(r["load"])
    loads.sort(key=lambda l: (l == "closed", int(l) if l != "closed" else 0))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, transport, title in ((axes[0], "tls", "TLS"), (axes[1], "mtls", "mTLS")):
        width = 0.27
        for i, (server, label) in enumerate(servers):
            med, lo, hi = [], [], []
            for load in loads:
                v = [float(r["ratio"]) for r in data if r["server"] == server
                     and r["load"] == load and r["transport"] == transport]
                m, below, above = median_range(v) if v else (float("nan"), 0, 0)
                med.append(m)
                lo.append(below)
                hi.append(above)
            ax.bar([j + (i - 1) * width for j in range(len(loads))], med, width, yerr=[lo, hi],
                   capsize=2, label=label)
        ax.axhline(1.2, ls="--", color="gray", label="goal: 1.2x")
        ax.axhline(1.0, ls=":", color="black", lw=0.8)
        ax.set_xticks(range(len(loads)),
                      ["closed loop\n(each at its max)" if l == "closed" else f"{int(l) / 1000:g}k/s"
                       for l in loads], fontsize=8)
        ax.set_title(f"{title} Check over plain text, same server")
        ax.set_ylim(0.8, 1.9)
    axes[0].set_ylabel("server CPU per Check, ratio to plain")
    axes[1].legend(fontsize=7, loc="upper left")
    save(fig, out)


def transport_floor(data, out):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    servers = ["grpc-callback", "grpc-async", "nghttp2", "mixs"]
    labels = ["gRPC C++ floor\n(callback API)", "gRPC C++ floor\n(completion queue)",
              "libnghttp2 floor\n(one epoll thread)", "mixs\n(decoding + policy)"]
    rounds = sorted({r["round"] for r in data})
    width = 0.8 / len(rounds)
    for i, rnd in enumerate(rounds):
        vals = [float(next(r for r in data if r["round"] == rnd and r["server"] == s)["us_per_check"])
                for s in servers]
        ax.bar([j + (i - (len(rounds) - 1) / 2) * width for j in range(len(servers))], vals, width,
               label=f"round {rnd}")
    ax.axhline(8, ls="--", color="gray", label="goal: 8 µs (quiet box)")
    ax.set_xticks(range(len(servers)), labels, fontsize=8)
    ax.set_ylabel("server CPU per Check (µs)")
    ax.set_title("Below the gRPC floor (same run, alternating; loaded box)")
    ax.legend(fontsize=7)
    save(fig, out)


def _cpu_by_load(data, out, servers, title):
    """Server CPU per Check of each server by load: the median of the rounds, with their range."""
    loads = ["5000", "10000", "20000", "closed"]
    fig, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / len(servers)
    for i, (server, label) in enumerate(servers):
        med, lo, hi = [], [], []
        for load in loads:
            m, below, above = median_range(
                float(r["cpu_us"]) for r in data if r["server"] == server and r["load"] == load)
            med.append(m)
            lo.append(below)
            hi.append(above)
        offset = (i - (len(servers) - 1) / 2) * width
        ax.bar([j + offset for j in range(len(loads))], med, width, yerr=[lo, hi], capsize=2,
               label=label)
    ax.set_xticks(range(len(loads)), ["5k/s", "10k/s", "20k/s", "closed loop, 8 in flight"])
    ax.set_ylabel("server CPU per Check (µs)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    save(fig, out)


def transport_floor_by_load(data, out):
    """Server CPU per Check by load, mixs on the callback API against the floors."""
    _cpu_by_load(data, out,
                 [("grpc-callback", "gRPC C++ floor, callback API"),
                  ("grpc-async", "gRPC C++ floor, completion queue"),
                  ("nghttp2", "libnghttp2 floor, one epoll thread"),
                  ("mixs", "mixs (callback API)")],
                 "Server CPU per Check by load: one call per wake-up costs the most")


def transport_floor_queues(data, out):
    """Server CPU per Check by load: mixs on completion queues against mixs before and the
    floors, in the same rounds."""
    _cpu_by_load(data, out,
                 [("grpc-callback", "gRPC C++ floor, callback API"),
                  ("grpc-async", "gRPC C++ floor, completion queue"),
                  ("nghttp2", "libnghttp2 floor"),
                  ("mixs-base", "mixs before (callback API)"),
                  ("mixs", "mixs, one completion queue"),
                  ("mixs-2q", "mixs, two completion queues")],
                 "mixs on completion queues: server CPU per Check by load")


def transport_floor_lean_client(data, out):
    """Server CPU per Check at 8 in flight, by server and by client (gRPC C++ or the proxy
    library's lean transport): the median of the rounds, with their range."""
    servers = [("mixs", "mixs, gRPC port"), ("mixs-lean", "mixs, lean port"),
               ("nghttp2", "libnghttp2 floor")]
    clients = [("grpc", "mixc, gRPC C++ client"), ("lean", "mixc --transport lean")]
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    width = 0.8 / len(clients)
    for i, (client, label) in enumerate(clients):
        med, lo, hi = [], [], []
        for server, _ in servers:
            m, below, above = median_range(
                float(r["cpu_us"]) for r in data if r["server"] == server and r["client"] == client)
            med.append(m)
            lo.append(below)
            hi.append(above)
        offset = (i - (len(clients) - 1) / 2) * width
        bars = ax.bar([j + offset for j in range(len(servers))], med, width, yerr=[lo, hi],
                      capsize=2, label=label)
        for bar, m in zip(bars, med):
            ax.text(bar.get_x() + bar.get_width() / 2, m, f"{m:.1f}", ha="center", va="bottom",
                    fontsize=7)
    ax.axhline(8, ls="--", color="gray", label="goal: 8 µs")
    ax.set_xticks(range(len(servers)), [label for _, label in servers])
    ax.set_ylabel("server CPU per Check (µs)")
    ax.set_title("Server CPU per Check, 8 in flight, by client")
    ax.legend(fontsize=7)
    save(fig, out)


def transport_floor_lean(data, out):
    """Server CPU per Check by load: mixs' lean port (libnghttp2) against its gRPC port and the
    floors, in the same rounds."""
    _cpu_by_load(data, out,
                 [("grpc-async", "gRPC C++ floor, completion queue"),
                  ("nghttp2", "libnghttp2 floor"),
                  ("mixs", "mixs, gRPC port"),
                  ("mixs-lean", "mixs, lean port (libnghttp2)")],
                 "mixs' lean port: server CPU per Check by load")


def nginx_module(data, out):
    """The nginx module's CPU per cache-hit request (Check + Report), median of the rounds of each
    build: the worker's main thread over plain nginx's in the same round, the library's threads,
    and mixs; beside it the wrk throughput ratio to plain nginx."""
    def median(values):
        v = sorted(values)
        n = len(v)
        return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2

    builds = list(dict.fromkeys(r["build"] for r in data))
    of = {b: [r for r in data if r["build"] == b] for b in builds}
    added = [median(float(r["module_main_us"]) - float(r["plain_main_us"]) for r in of[b])
             for b in builds]
    library = [median(float(r["library_threads_us"]) for r in of[b]) for b in builds]
    mixs = [median(float(r["mixs_us"]) for r in of[b]) for b in builds]
    ratio = [median(100 * float(r["module_rps"]) / float(r["plain_rps"]) for r in of[b])
             for b in builds]
    fig, axes = plt.subplots(1, 2, figsize=(max(10, 1.7 * len(builds)), 4.5),
                             gridspec_kw={"width_ratios": [3, 2]})
    names = [textwrap.fill(b, 10) for b in builds]
    x = range(len(builds))
    axes[0].bar([i - 0.2 for i in x], added, 0.4, color="#1f77b4",
                label="worker main thread (over plain nginx)")
    axes[0].bar([i - 0.2 for i in x], library, 0.4, bottom=added, color="#ff7f0e",
                label="library threads (report flusher, gRPC)")
    axes[0].bar([i + 0.2 for i in x], mixs, 0.4, color="#7f7f7f", label="mixs (whole process)")
    for i in x:
        axes[0].text(i - 0.2, added[i] + library[i], f"{added[i] + library[i]:.1f}",
                     ha="center", va="bottom", fontsize=8)
        axes[0].text(i + 0.2, mixs[i], f"{mixs[i]:.1f}", ha="center", va="bottom", fontsize=8)
    axes[0].axhline(1.5, ls="--", color="gray", label="goal: 1.5 µs (worker + library)")
    axes[0].set_xticks(list(x), names, fontsize=8)
    axes[0].set_ylabel("CPU per request (µs), median of rounds")
    axes[0].set_ylim(0, max(a + b for a, b in zip(added, library)) * 1.75)
    axes[0].legend(fontsize=7, loc="upper right")
    axes[1].bar(range(len(builds)), ratio, color="#2ca02c")
    axes[1].set_xticks(list(x), [textwrap.fill(b, 9, break_long_words=False) for b in builds], fontsize=8)
    for i in x:
        axes[1].text(i, ratio[i], f"{ratio[i]:.0f}%", ha="center", va="bottom", fontsize=8)
    axes[1].axhline(90, ls="--", color="gray", label="goal: 90% (quiet box)")
    axes[1].set_ylabel("wrk requests/s, % of plain nginx")
    axes[1].set_ylim(0, max(110, max(ratio) + 10))
    axes[1].legend(fontsize=7, loc="lower right")
    fig.suptitle("nginx module, cache-hit Check + Report: CPU per request")
    save(fig, out)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "docs/perf-data"
    charts = {"server_cpu": server_cpu, "quota_check": quota, "check_latency": latency,
              "check_latency_by_rate": latency_by_rate,
              "tls_check": tls, "transport_floor": transport_floor,
              "transport_floor_by_load": transport_floor_by_load,
              "transport_floor_queues": transport_floor_queues,
              "transport_floor_lean": transport_floor_lean,
              "transport_floor_lean_client": transport_floor_lean_client,
              "nginx_module_cpu": nginx_module}
    for name, draw in charts.items():
        draw(rows(os.path.join(d, name + ".csv")), os.path.join(d, name + ".png"))
        print(os.path.join(d, name + ".png"))


if __name__ == "__main__":
    main()
