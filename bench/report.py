#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""report.py - make bench, host side: raw results -> Markdown report + plots.

usage: report.py RESULT.txt HOST-ENV.txt OUT.md

RESULT.txt is what bench/guest.sh wrote on the VM's second serial port:
  E KEY VALUE...                                   environment
  R WORKLOAD METRIC UNIT hi|lo VARIANT RUN VALUE   one measurement
  N WORKLOAD REASON...                             not run
  FAIL bench:WORKLOAD:VARIANT:RUN REASON...        could not measure
HOST-ENV.txt has "KEY VALUE..." lines from bench/bench.sh (QEMU, host CPU,
other VMs).  The PNGs (gnuplot) go next to OUT.md, named after it.

The last variant of a workload is the baseline (in-tree vhost_net, or fio
io_uring for block); every other variant is reported as a ratio to it, and
some also to a second reference (SECOND: vhx / vhx-base, vhx packed / vhx
split, vhx polled / vhx).
Ratios are variant/baseline for every metric: above 1 is better for "hi"
metrics (rates), below 1 is better for "lo" ones (memory, latency).  Nothing
here passes or fails on speed.
"""
import os
import statistics
import subprocess
import sys
from collections import OrderedDict

LABEL = {"vhx": "vhx", "intree": "in-tree", "vhx-packed": "vhx packed",
         "io_uring": "fio io_uring", "vhx-base": "vhx-base",
         "vhx-poll": "vhx polled", "vhx-base-packed": "vhx-base packed",
         "vhx-trace": "vhx, tracepoints on", "vhx-2": "vhx again (A vs A)"}


# A second reference per variant, reported next to the baseline ratio:
# before/after (BENCH_VS), packed vs split rings, polled vs sleeping blk.
SECOND = {"vhx": ["vhx-base"], "vhx-packed": ["vhx", "vhx-base-packed"],
          "vhx-poll": ["vhx"], "vhx-trace": ["vhx"], "vhx-2": ["vhx"]}


def label(v):
    return LABEL.get(v, v)


def fmt(x):
    if x is None:
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 10 or x == int(x):
        return f"{x:.0f}" if x == int(x) else f"{x:.1f}"
    return f"{x:.2f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else f"{r:.3f}"


def parse(path):
    env = OrderedDict()
    series = OrderedDict()   # (workload, metric) -> info
    notrun = OrderedDict()
    failed = []
    with open(path, errors="replace") as f:
        for raw in f:
            line = raw.strip().replace("\r", "")
            if line.startswith("E "):
                p = line.split(" ", 2)
                env[p[1]] = p[2] if len(p) > 2 else ""
            elif line.startswith("R "):
                p = line.split()
                if len(p) != 8:
                    continue
                _, w, m, unit, d, v, run, val = p
                s = series.setdefault((w, m), {"unit": unit, "dir": d,
                                               "variants": OrderedDict()})
                s["variants"].setdefault(v, {})[int(run)] = float(val)
            elif line.startswith("N "):
                p = line.split(" ", 2)
                notrun[p[1]] = p[2] if len(p) > 2 else "?"
            elif line.startswith("FAIL bench:"):
                p = line.split(" ", 2)
                failed.append((p[1][len("bench:"):], p[2] if len(p) > 2 else ""))
    return env, series, notrun, failed


def summarise(s):
    """Per variant: runs, median, min, max; per non-baseline: ratios."""
    variants = list(s["variants"])
    base = variants[-1]
    out = OrderedDict()
    for v in variants:
        runs = s["variants"][v]
        vals = list(runs.values())
        out[v] = {"runs": runs, "median": statistics.median(vals) if vals else None,
                  "min": min(vals) if vals else None, "max": max(vals) if vals else None}
    for v in variants[:-1]:
        o = out[v]
        o["ratio"] = ratio(o["median"], out[base]["median"])
        pr = [ratio(x, out[base]["runs"].get(r)) for r, x in o["runs"].items()]
        pr = [x for x in pr if x is not None]
        o["pair_min"] = min(pr) if pr else None
        o["pair_max"] = max(pr) if pr else None
        o["pair_med"] = statistics.median(pr) if pr else None
    return base, out


def gnuplot(script):
    try:
        subprocess.run(["gnuplot"], input=script, text=True, check=True,
                       capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        err = getattr(e, "stderr", "") or str(e)
        sys.stderr.write(f"report: gnuplot failed: {err}\n")
        return False


def plot_ratios(rows, png, datdir):
    dat = os.path.join(datdir, "ratios.dat")
    with open(dat, "w") as f:
        for i, (name, r, lo, hi, d) in enumerate(rows):
            f.write(f'{i} "{name}" {r} {lo if lo is not None else r} '
                    f'{hi if hi is not None else r} {1 if d == "hi" else 2}\n')
    n = len(rows)
    # Block latency ratios reach 10-100x beside rates near 1: a linear axis
    # would flatten every other row, so a wide spread gets a log axis (and
    # points, which a log axis draws truthfully; boxes need a zero).
    vals = [x for _, r, lo, hi, _ in rows for x in (r, lo, hi)
            if x is not None and x > 0]
    wide = bool(vals) and max(vals) / min(vals) > 4
    scale = ("set logscale y 2\nset yrange [*:*]\nset ytics format \"%g\"" if wide
             else "set style fill solid 0.6 border -1\nset boxwidth 0.6\nset yrange [0:*]")
    style = "points pt 7 ps 1.5" if wide else "boxes"
    return gnuplot(f"""
set terminal pngcairo size {max(900, 70 * n + 200)},520 font "sans,10"
set output "{png}"
set title "vhx / baseline: median ratio, bars = per-pair ratio min-max{' (log scale)' if wide else ''}\\n(rates: >1 is faster; memory and latency: <1 is smaller)"
{scale}
set xrange [-0.6:{n - 0.4}]
set xtics rotate by -35 noenhanced
set grid ytics
set key off
set arrow from -0.6,1 to {n - 0.4},1 nohead lc rgb "red" dt 2
plot "{dat}" using 1:3:6:xtic(2) with {style} lc variable, \\
     "" using 1:3:4:5 with yerrorbars lc rgb "black" pt 0
""")


def plot_runs(w, metrics, series, png, datdir):
    parts = []
    for m in metrics:
        s = series[(w, m)]
        dat = os.path.join(datdir, f"{w}-{m}.dat".replace("/", "_").replace("+", "_"))
        cols = list(s["variants"])
        runs = sorted({r for v in cols for r in s["variants"][v]})
        with open(dat, "w") as f:
            for r in runs:
                f.write(str(r) + " " + " ".join(
                    str(s["variants"][v].get(r, "NaN")) for v in cols) + "\n")
        plots = ", ".join(
            f'"{dat}" using 1:{i + 2} with linespoints pt 7 title "{label(v)}"'
            for i, v in enumerate(cols))
        parts.append(f"""
set title "{w}: {m} ({s['unit']}, {'higher' if s['dir'] == 'hi' else 'lower'} is better)" noenhanced
set xlabel "run (pair)"
set xtics 1
set xrange [0.5:{max(runs) + 0.5}]
set yrange [0:*]
set grid ytics
set key bottom right
plot {plots}
""")
    n = len(parts)
    return gnuplot(f"""
set terminal pngcairo size {520 * min(n, 3)},{380 * ((n + 2) // 3)} font "sans,9"
set output "{png}"
set multiplot layout {(n + 2) // 3},{min(n, 3)}
{''.join(parts)}
unset multiplot
""")


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    res, hostenv, out = sys.argv[1:]
    env, series, notrun, failed = parse(res)
    henv = OrderedDict()
    if os.path.exists(hostenv):
        with open(hostenv) as f:
            for line in f:
                p = line.rstrip("\n").split(" ", 1)
                if p[0]:
                    henv[p[0]] = p[1] if len(p) > 1 else ""
    outdir = os.path.dirname(os.path.abspath(out))
    stem = os.path.splitext(os.path.basename(out))[0]
    datdir = os.path.join(outdir, ".plotdata-" + stem)
    os.makedirs(datdir, exist_ok=True)

    workloads = OrderedDict()
    for (w, m) in series:
        workloads.setdefault(w, []).append(m)

    # "vhost_net", "vhost_vsock" or both, as guest.sh names them
    mods = env.get("intree", "vhost_net").split(" of ")[0]
    L = []
    L.append(f"# make bench: vhx vs in-tree {mods} — {henv.get('date', '?')}, "
             f"guest kernel {env.get('guest_kernel', '?')}")
    L.append("")
    L.append("Side by side in one boot of the lab VM, runs alternating A B A B. "
             "Ratios are vhx / baseline (the last column of each table: "
             f"in-tree `{mods}`, or fio io_uring for block). "
             "How to read it: `bench/README.md`. "
             "The benchmark measures and reports; it sets no thresholds.")
    L.append("")
    L.append("## Environment")
    L.append("")
    L.append("| | |")
    L.append("|---|---|")
    keys = [("host CPU", henv.get("host_cpu")), ("QEMU", henv.get("qemu")),
            ("accel", henv.get("accel")), ("guest kernel", env.get("guest_kernel")),
            ("guest CPU", env.get("guest_cpu")), ("guest memory", env.get("guest_mem")),
            ("DPDK", env.get("dpdk")), ("iperf3", env.get("iperf3")),
            ("vhx", env.get("vhx")), ("vhx-base (BENCH_VS)", env.get("vhx_base")),
            ("in-tree", env.get("intree")),
            ("git", henv.get("git")),
            ("runs", f"{env.get('pairs', '?')} pairs, {env.get('secs', '?')} s each "
                     f"after {env.get('warm', '?')} s warm-up"),
            ("TX frames dropped at tap ingress (tc matchall)",
             "yes" if env.get("tc_drop") == "1" else "no"),
            ("other VMs on the host", henv.get("other_vms")),
            ("host load (start / end)", f"{henv.get('load_start', '?')} / {henv.get('load_end', '?')}"),
            ("wall time", henv.get("wall"))]
    for k, v in keys:
        if v:
            L.append(f"| {k} | {v} |")
    L.append("")

    # Summary table and ratio plot.
    rows = []
    second_rows = []
    L.append("## Summary")
    L.append("")
    has_second = any(ref in s["variants"] for s in series.values()
                     for v in s["variants"] for ref in SECOND.get(v, []))
    extra_h = " second ratio | per-pair: median (min–max) |" if has_second else ""
    L.append("| workload | metric | variant | median | baseline | baseline median | ratio | per-pair ratio: median (min–max) |" + extra_h)
    L.append("|---|---|---|---:|---|---:|---:|---:|" + ("---:|---:|" if has_second else ""))
    summaries = {}
    for (w, m), s in series.items():
        base, summ = summarise(s)
        summaries[(w, m)] = (base, summ)
        for v, o in summ.items():
            if v == base:
                continue
            extra = ""
            if has_second:
                cells, pcells = [], []
                for ref in SECOND.get(v, []):
                    if ref not in summ or ref == base:
                        continue
                    b = summ[ref]
                    pr = [ratio(x, b["runs"].get(r)) for r, x in o["runs"].items()]
                    pr = [x for x in pr if x is not None]
                    r2 = ratio(o["median"], b["median"])
                    cells.append(f"{label(v)} / {label(ref)}: **{fmt_ratio(r2)}**")
                    pcells.append(f"{fmt_ratio(statistics.median(pr) if pr else None)} "
                                  f"({fmt_ratio(min(pr) if pr else None)}–"
                                  f"{fmt_ratio(max(pr) if pr else None)})")
                    if v != "vhx" and ref in ("vhx",) and r2 is not None:
                        name = w if len(workloads[w]) == 1 else f"{w} {m}"
                        second_rows.append((f"{name} ({label(v)} / {label(ref)})", r2,
                                            min(pr) if pr else None, max(pr) if pr else None,
                                            s["dir"]))
                extra = f" {'<br>'.join(cells)} | {'<br>'.join(pcells)} |"
            L.append(f"| {w} | {m} ({s['unit']}, {'↑' if s['dir'] == 'hi' else '↓'}) | {label(v)} "
                     f"| {fmt(o['median'])} | {label(base)} | {fmt(summ[base]['median'])} "
                     f"| **{fmt_ratio(o['ratio'])}** | {fmt_ratio(o['pair_med'])} "
                     f"({fmt_ratio(o['pair_min'])}–{fmt_ratio(o['pair_max'])}) |" + extra)
            if o["ratio"] is not None:
                name = w if len(workloads[w]) == 1 else f"{w} {m}"
                if v != "vhx":
                    name += f" ({v})"
                rows.append((name, o["ratio"], o["pair_min"], o["pair_max"], s["dir"]))
    rows += second_rows
    for w, why in notrun.items():
        L.append(f"| {w} | | | | | | not run: {why} | |")
    L.append("")
    L.append("↑ higher is better, ↓ lower is better.")
    L.append("")
    if rows and plot_ratios(rows, os.path.join(outdir, f"{stem}-ratios.png"), datdir):
        L.append(f"![ratios]({stem}-ratios.png)")
        L.append("")

    if failed:
        L.append("## Failed runs")
        L.append("")
        L.append("These runs could not be measured (the benchmark exits non-zero):")
        L.append("")
        for what, why in failed:
            L.append(f"- `{what}`: {why}")
        L.append("")

    L.append("## Runs")
    for w, metrics in workloads.items():
        L.append("")
        L.append(f"### {w}")
        for m in metrics:
            s = series[(w, m)]
            base, summ = summaries[(w, m)]
            vs = list(summ)
            L.append("")
            L.append(f"{m}, {s['unit']} ({'higher' if s['dir'] == 'hi' else 'lower'} is better)")
            L.append("")
            hdr = "| run | " + " | ".join(label(v) for v in vs) + " | " + \
                " | ".join(f"{label(v)} / {label(base)}" for v in vs[:-1]) + " |"
            L.append(hdr)
            L.append("|---" * (2 * len(vs)) + "|")
            runs = sorted({r for v in vs for r in summ[v]["runs"]})
            for r in runs:
                cells = [fmt(summ[v]["runs"].get(r)) for v in vs]
                rr = [fmt_ratio(ratio(summ[v]["runs"].get(r), summ[base]["runs"].get(r)))
                      for v in vs[:-1]]
                L.append(f"| {r} | " + " | ".join(cells) + " | " + " | ".join(rr) + " |")
            L.append("| **median** | " + " | ".join(f"**{fmt(summ[v]['median'])}**" for v in vs) +
                     " | " + " | ".join(f"**{fmt_ratio(summ[v]['ratio'])}**" for v in vs[:-1]) + " |")
            L.append("| min–max | " + " | ".join(f"{fmt(summ[v]['min'])}–{fmt(summ[v]['max'])}" for v in vs) +
                     " | " + " | ".join(f"{fmt_ratio(summ[v]['pair_min'])}–{fmt_ratio(summ[v]['pair_max'])}"
                                        for v in vs[:-1]) + " |")
        png = f"{stem}-{w}.png"
        if plot_runs(w, metrics, series, os.path.join(outdir, png), datdir):
            L.append("")
            L.append(f"![{w}]({png})")
    if notrun:
        L.append("")
        L.append("## Not run")
        L.append("")
        for w, why in notrun.items():
            L.append(f"- {w}: not run: {why}")
    L.append("")
    with open(out, "w") as f:
        f.write("\n".join(L))
    for fn in os.listdir(datdir):
        os.unlink(os.path.join(datdir, fn))
    os.rmdir(datdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
