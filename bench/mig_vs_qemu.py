#!/usr/bin/env python3
"""Live-migration benchmark of issue 12: hyve against QEMU 7.2 over loopback
TCP, the same guests in the same run.  Run it through bench/run.sh --mig,
which builds what it needs; docs/BENCHMARKS.md says what is measured and why.

    mig_vs_qemu.py --build DIR [--quick] [--reps N] [--mem SIZE]
                   [--cases a,b,c] [--vmm hyve,qemu] [--dir WORKDIR]
                   [--out RESULTS.md] [--analysis ANALYSIS.md]

Cases, each a 2-vCPU guest with `beacon` (one '.' a millisecond) on one vCPU:
(a) idle: `beacon` alone; (b) `dirty 64M SIZE ; beacon` (writes 64 MiB/s
over half of RAM); (c) `churn ; beacon` (rewrites all of RAM as fast as it
can).  For each, per repetition, hyve then QEMU (order swapped every other
repetition): a destination waiting on 127.0.0.1:PORT, the source told to
migrate there, the two consoles read with time stamps.

Figures: downtime as the guest sees it (the last dot read from the source to
the first read from the destination), downtime as each VMM counts it, total
time (request to the first dot at the destination, and each VMM's own
count), bytes each VMM says it sent.  Medians of --reps; ratios hyve/QEMU.
Goals are reported as met or missed, never asserted.

The console, QMP, environment and formatting are bench/ckp_vs_qemu.py's.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ckp_vs_qemu import (MiB, GiB, BenchError, Console, Env, Hyve, Qemu,  # noqa: E402
                         fr, fs, machine, med, meta_ram, ratio, rm, size_bytes, spread)

RATE = "64M"                 # case (b)'s write rate, per second
DOWNTIME_MS = 20             # both VMMs' target
TIMEOUT = 180                # a migration that has not ended by then is cancelled
SETTLE_DOTS = 1000           # beacon dots (1 ms each) before a migration starts
AFTER_DOTS = 200             # dots the destination must write: it really runs

BEGIN = "<!-- mig_vs_qemu: begin (bench/run.sh --mig rewrites this section) -->"
END = "<!-- mig_vs_qemu: end -->"


def log(msg):
    print("mig_vs_qemu: " + msg, file=sys.stderr, flush=True)


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on now (the destination binds
    it a moment later; a clash is reported as that migration's error)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dot_times(con):
    with con.cond:
        return [t for t, b in con.chunks if b.count(b".")]


def max_gap(times, t0, t1):
    """Longest interval between dot reads within [t0, t1] (plus the read
    just before t0)."""
    pts = [t for t in times if t < t0][-1:] + [t for t in times if t0 <= t <= t1]
    if len(pts) < 2:
        return None
    return max(b - a for a, b in zip(pts, pts[1:]))


VCPU_THREAD = re.compile(r"^vcpu$")   # hyve's vCPU threads (QEMU's: query-cpus-fast)
TICK = os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """CPU time of processes' threads other than vCPUs, from the start to
    the last sample (every 10 ms, so up to 10 ms of a process that exits is
    missed): what the migration itself costs each side, beside the guest's
    busy vCPUs."""

    def __init__(self, vcpus=None, **procs):
        self.procs = procs                   # label -> Popen
        self.vcpus = vcpus or {}             # label -> vCPU thread ids (QEMU's are not named)
        self.first, self.last = {}, {}
        self.stop = threading.Event()
        self.sample()
        self.first = dict(self.last)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def sample(self):
        for label, p in self.procs.items():
            try:
                tids = os.listdir("/proc/%d/task" % p.pid)
            except OSError:
                continue
            for tid in tids:
                try:
                    with open("/proc/%d/task/%s/stat" % (p.pid, tid)) as f:
                        st = f.read()
                except OSError:
                    continue
                comm = st[st.index("(") + 1:st.rindex(")")]
                f = st[st.rindex(")") + 2:].split()
                if VCPU_THREAD.match(comm) or int(tid) in self.vcpus.get(label, ()):
                    continue
                self.last[(label, tid)] = (int(f[11]) + int(f[12])) / TICK

    def _run(self):
        while not self.stop.wait(0.01):
            self.sample()

    def result(self):
        self.stop.set()
        self.thread.join()
        out = {}
        for (label, tid), v in self.last.items():
            out[label] = out.get(label, 0) + v - self.first.get((label, tid), 0)
        return out


STATUS = re.compile(r"migrating round=(\d+) sent=(\d+) dirty_rate=(\d+) "
                    r"expected_downtime_ms=(\S+) throttle=(\d+)")


class HyveStatus:
    """hyve's `status` answer every 50 ms during a migration (one short
    connection to its control socket each): its last estimate before the
    stop says what it expected the downtime to be."""

    def __init__(self, env, name):
        self.path = os.path.join(env.rundir, name + ".sock")
        self.samples = []                    # (time, round, sent, dirty_rate, expected_ms, throttle)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop.wait(0.05):
            try:
                with socket.socket(socket.AF_UNIX) as c:
                    c.settimeout(1)
                    c.connect(self.path)
                    c.sendall(b"status\n")
                    data = b""
                    while b"\n" not in data:
                        b = c.recv(4096)
                        if not b:
                            break
                        data += b
            except OSError:
                continue
            m = STATUS.search(data.decode(errors="replace"))
            if m:
                exp = None if m.group(4) == "unknown" else float(m.group(4))
                self.samples.append((time.monotonic(), int(m.group(1)), int(m.group(2)),
                                     int(m.group(3)), exp, int(m.group(5))))

    def result(self):
        self.stop.set()
        self.thread.join()
        return self.samples


def workload(case, mem_bytes):
    if case == "a":
        return "beacon"
    if case == "b":
        # Half of RAM as the working set: a second's writes are 64 MiB of
        # distinct pages, and round 0 has real data to send besides.
        return "dirty %s %dM ; beacon" % (RATE, mem_bytes // 2 // MiB)
    # churn on vCPU 0 only, beacon on vCPU 1; rounds enough to outlast any
    # migration (the VM is killed afterwards).
    return "churn 1000000 ; beacon"


def ready(con, case):
    """Wait until the guest is in its steady state, then for SETTLE_DOTS."""
    con.wait_for(rb"BEACON start", 60)
    if case == "b":
        con.wait_for(rb"DIRTY pass n=1 ", 120)      # every page written once
    if case == "c":
        con.wait_for(rb"CHURN round 1/", 300)        # every page written once
    con.wait_dots(SETTLE_DOTS, 60)


def writer_rate(con, mem_bytes):
    """(b): bytes per second of the writer's last pass before now, from its
    own `DIRTY pass n=N ms=M` line (a starved vCPU writes less than asked)."""
    m = re.findall(rb"DIRTY pass n=\d+ ms=(\d+)", bytes(con.data))
    if not m or int(m[-1]) == 0:
        return None
    return (mem_bytes // 2) / (int(m[-1]) / 1e3)


def result(t_req, src_dots, dst_dots, **kw):
    """Guest-side figures from the two consoles' dot times."""
    before = [t for t in src_dots if t < t_req]
    src_last = [t for t in src_dots if t >= t_req]
    r = dict(kw)
    if not dst_dots:
        raise BenchError("the destination wrote no dot")
    last = (src_last or before)[-1]
    first = dst_dots[0]
    r["gap"] = first - last                           # the hand-over, as the guest sees it
    r["total_guest"] = first - t_req                  # request to running there
    r["gap_pre"] = max_gap(src_dots, t_req, last)     # during pre-copy (throttling shows here)
    r["gap_after"] = max_gap(dst_dots, first, first + 1.0)
    r["jitter"] = max_gap(src_dots, t_req - 1.0, t_req)   # the beacon's own, no migration
    return r


# --------------------------------------------------------------------------
# hyve
# --------------------------------------------------------------------------
def hyve_incoming(env, addr):
    """`hyve --incoming ADDR` with its console on a pipe (a Hyve whose
    process is the destination).  Returns once it listens."""
    h = Hyve.__new__(Hyve)
    h.env = env
    h.name = env.name("hd")
    h.errpath = env.path(h.name + ".stderr")
    h.err = open(h.errpath, "w+")
    h.proc = subprocess.Popen([env.hyve_dst, "--incoming", addr, "-l", "com1,stdio", h.name],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=h.err, env=env.hyve_env())
    env.procs.append(h.proc)
    h.con = Console(h.proc.stdout)
    deadline = time.monotonic() + 30
    while "waiting for a migration stream" not in h.stderr():
        if h.proc.poll() is not None or time.monotonic() > deadline:
            raise BenchError("hyve --incoming %s does not listen: %s" % (addr, h.stderr()))
        time.sleep(0.005)
    return h


def run_hyve(env, case, mem, res):
    app = workload(case, mem)
    src = Hyve(env, mem_arg(mem), app)
    ready(src.con, case)
    if case == "a":
        # The guest's non-zero RAM, the reference of the bytes goal: a
        # checkpoint of this very guest (it writes nothing but dots).
        p = env.path("mig-a.ckp")
        src.checkpoint(p)
        res.setdefault("nonzero", []).append(int(meta_ram(p)["data_bytes"]))
        rm(p)
        src.con.wait_dots(SETTLE_DOTS, 60)
    addr = "tcp:127.0.0.1:%d" % free_port()
    dst = hyve_incoming(env, addr)
    src.wait_socket()
    cpu = CpuSampler(src=src.proc, dst=dst.proc)
    status = HyveStatus(env, src.name)
    wrate = writer_rate(src.con, mem) if case == "b" else None
    t_req = time.monotonic()
    r = subprocess.run([env.hyvectl, "--vm=" + src.name, "-q", "--migrate=" + addr],
                       capture_output=True, text=True, env=env.hyve_env(), timeout=TIMEOUT + 60)
    t_done = time.monotonic()
    out = r.stdout + r.stderr
    if r.returncode != 0:
        raise BenchError("hyvectl --migrate: exit %d: %s\nsource: %s\ndestination: %s"
                         % (r.returncode, out.strip(), src.stderr()[-600:], dst.stderr()[-600:]))
    m = re.search(r"downtime_ms=([0-9.]+) rounds=(\d+) bytes=(\d+) throttle=(\d+)", out)
    if not m:
        raise BenchError("no figures in hyvectl's answer %r" % out)
    cpu = cpu.result()
    samples = status.result()
    dst.con.wait_dots(AFTER_DOTS, 30)
    try:
        src.proc.wait(timeout=30)                     # a migrated source exits 0
    except subprocess.TimeoutExpired:
        raise BenchError("the source still runs after 'migrated'")
    if src.proc.returncode != 0:
        raise BenchError("the source exited %d: %s" % (src.proc.returncode, src.stderr()[-600:]))
    row = result(t_req, dot_times(src.con), dot_times(dst.con),
                 downtime=float(m.group(1)) / 1e3, rounds=int(m.group(2)),
                 bytes=int(m.group(3)), throttle=int(m.group(4)), total_answer=t_done - t_req,
                 cpu_src=cpu.get("src"), cpu_dst=cpu.get("dst"), writer_rate=wrate)
    # Where hyve's downtime went: both sides log their hand-over's steps.
    hs = re.search(r"hand-over, ms after the pause: paused ([0-9.]+), last round sent ([0-9.]+) "
                   r"\(\d+ pages\), STATE and END sent ([0-9.]+), READY ([0-9.]+), RUNNING ([0-9.]+)",
                   src.stderr())
    if hs:
        row.update(zip(("hs_paused", "hs_last", "hs_state", "hs_ready", "hs_running"),
                       (float(x) / 1e3 for x in hs.groups())))
    hd = re.search(r"hand-over, ms after END arrived: checked and READY sent ([0-9.]+), GO ([0-9.]+), "
                   r"running and RUNNING sent ([0-9.]+)", dst.stderr())
    if hd:
        row.update(zip(("hd_ready", "hd_go", "hd_running"), (float(x) / 1e3 for x in hd.groups())))
    if samples:
        last = samples[-1]
        row.update(status_round=last[1], dirty_rate=last[3],
                   expected=None if last[4] is None else last[4] / 1e3)
    src.kill()
    dst.kill()
    return row


# --------------------------------------------------------------------------
# QEMU
# --------------------------------------------------------------------------
def run_qemu(env, case, mem):
    app = workload(case, mem)
    addr = "tcp:127.0.0.1:%d" % free_port()
    src = Qemu(env, mem, app)
    ready(src.con, case)
    dst = Qemu(env, mem, app, incoming=addr)
    caps = [{"capability": "events", "state": True}]
    if case == "c":
        # What a QEMU user does for a guest that dirties faster than the
        # link: without it, churn never converges to 20 ms.
        caps.append({"capability": "auto-converge", "state": True})
    src.cmd("migrate-set-capabilities", capabilities=caps)
    # downtime-limit as the issue says; max-bandwidth lifted from 7.2's
    # 128 MiB/s default, as libvirt does for every migration.
    src.cmd("migrate-set-parameters", **{"downtime-limit": DOWNTIME_MS, "max-bandwidth": 1 << 50})
    done = lambda e: (e.get("event") == "MIGRATION" and
                      e["data"]["status"] in ("completed", "failed", "cancelled"))
    vcpus = {k: {c["thread-id"] for c in q.cmd("query-cpus-fast")}
             for k, q in (("src", src), ("dst", dst))}
    cpu = CpuSampler(vcpus=vcpus, src=src.proc, dst=dst.proc)
    wrate = writer_rate(src.con, mem) if case == "b" else None
    t_req = time.monotonic()
    src.cmd("migrate", uri=addr)
    try:
        src.wait_event(done, TIMEOUT)
    except BenchError:
        st = src.cmd("query-migrate")
        src.cmd("migrate_cancel")
        raise BenchError("QEMU did not converge in %d s: %s" % (TIMEOUT, json.dumps(st)[:400]))
    t_done = time.monotonic()
    cpu = cpu.result()
    # 7.2 sends the event before it computes total-time and downtime (in
    # migration_calculate_complete): until then query-migrate says 0.
    for _ in range(500):
        st = src.cmd("query-migrate")
        if st.get("status") != "completed" or st.get("total-time"):
            break
        time.sleep(0.002)
    if st.get("status") != "completed":
        raise BenchError("QEMU migration %s" % json.dumps(st)[:400])
    if os.environ.get("MIG_DEBUG"):
        log(json.dumps(st))
    dst.con.wait_dots(AFTER_DOTS, 30)
    ram = st.get("ram", {})
    row = result(t_req, dot_times(src.con), dot_times(dst.con),
                 downtime=st["downtime"] / 1e3, total=st["total-time"] / 1e3,
                 total_answer=t_done - t_req, bytes=ram.get("transferred"),
                 normal=ram.get("normal", 0) * ram.get("page-size", 4096),
                 rounds=ram.get("dirty-sync-count"),
                 throttle=st.get("cpu-throttle-percentage", 0),
                 cpu_src=cpu.get("src"), cpu_dst=cpu.get("dst"), writer_rate=wrate)
    src.quit()
    dst.quit()
    return row


def mem_arg(mem):
    return "%dM" % (mem // MiB)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
CASES = {"a": "idle: `beacon`",
         "b": "writing %s/s: `dirty %s HALF ; beacon`" % (RATE.replace("M", " MiB"), RATE),
         "c": "`churn ; beacon` (all of RAM, as fast as it can)"}
KEYS = ("gap", "downtime", "total_guest", "total_answer", "total", "bytes", "gap_pre", "jitter",
        "rounds", "throttle", "cpu_src", "cpu_dst", "expected", "dirty_rate", "writer_rate",
        "hs_paused", "hs_last", "hs_state", "hs_ready", "hs_running", "hd_ready", "hd_go",
        "hd_running")


def summarize(rows):
    s = {}
    for k in KEYS + ("normal", "gap_after"):
        v = [r.get(k) for r in rows if r.get(k) is not None]
        if v:
            s[k] = med(v)
            s[k + "_all"] = v
    return s


def fms(x):
    return "-" if x is None else "%.1f ms" % (x * 1e3)


def goal(value, limit):
    if value is None:
        return "not measured"
    return "**met**" if value <= limit else "**missed**"


def report(env, args, res, t_start, t_end, load0, load1):
    L = []
    w = L.append
    w(BEGIN)
    w("# Live-migration benchmark: hyve against QEMU 7.2 over loopback TCP")
    w("")
    w("Written by bench/mig_vs_qemu.py (`bench/run.sh --mig`; issue 12; what is measured and why: docs/BENCHMARKS.md, "
      "section Live migration). Medians of %d run(s), hyve and QEMU alternating; ranges in "
      "parentheses." % args.reps)
    w("")
    w("| | |")
    w("|---|---|")
    w("| date | %s (%.0f s) |" % (time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(t_start)),
                                  t_end - t_start))
    w("| command | `%s` |" % args.command)
    for k, v in machine(env):
        if k != "work directory":
            w("| %s | %s |" % (k, v))
    if env.hyve_dst != env.hyve:
        w("| hyve destination | `--hyve-dst`: %s |" % (os.environ.get("HYVE_DST_REV") or env.hyve_dst))
    w("| guest | %s, 2 vCPUs, `%s` (docs/GUEST.md) |" % (fs(args.mem_bytes, "B"), os.path.basename(env.guest)))
    w("| load average | %s at start, %s at end (2 CPUs shared with other engineers: single figures are noisy) |"
      % (load0, load1))
    w("")
    w("hyve: `hyve --incoming tcp:127.0.0.1:PORT`, then `hyvectl --migrate=tcp:127.0.0.1:PORT` "
      "(defaults: `migrate.downtime_ms=20`, auto-converge whenever the guest dirties faster than "
      "the link). QEMU: `-incoming tcp:127.0.0.1:PORT`; the source gets `migrate-set-parameters` "
      "downtime-limit %d, max-bandwidth 2^50 (7.2 caps migration at 128 MiB/s otherwise; libvirt "
      "lifts it too), capability `auto-converge` **for (c) only**, then `migrate`." % DOWNTIME_MS)
    w("")
    summary = []
    for case in args.cases:
        c = res["cases"].get(case, {})
        h, q = c.get("hyve"), c.get("qemu")
        if not h and not q:
            continue
        title = CASES[case].replace("HALF", "%dM" % (args.mem_bytes // 2 // MiB))
        w("## (%s) %s" % (case, title))
        w("")
        w("| figure | hyve | QEMU | hyve / QEMU |")
        w("|---|---:|---:|---:|")

        def row(label, key, unit="s"):
            hv = h.get(key) if h else None
            qv = q.get(key) if q else None
            w("| %s | %s%s | %s%s | %s |" % (
                label, fs(hv, unit), spread(h.get(key + "_all", [])) if h and unit == "s" else "",
                fs(qv, unit), spread(q.get(key + "_all", [])) if q and unit == "s" else "",
                fr(ratio(hv, qv))))
        row("downtime, guest's view (last dot at the source to first at the destination)", "gap")
        row("downtime, the VMM's count (hyve `downtime_ms`, QEMU `downtime`)", "downtime")
        row("total, request to the first dot at the destination", "total_guest")
        row("total, request to the answer (hyvectl exits; QEMU's `MIGRATION completed` event)", "total_answer")
        row("total, QEMU's own count (`total-time`)", "total")
        row("bytes sent, the VMM's count (hyve: the whole stream; QEMU `ram.transferred`)", "bytes", "B")
        row("CPU time of the source's threads but its vCPUs, request to answer", "cpu_src")
        row("CPU time of the destination's threads but its vCPUs, same interval", "cpu_dst")
        row("longest beacon gap at the source during pre-copy", "gap_pre")
        row("longest beacon gap in the second before the request (no migration)", "jitter")
        w("| rounds (hyve) / dirty syncs (QEMU) | %s | %s | |" % (
            ", ".join(str(x) for x in h.get("rounds_all", [])) if h else "-",
            ", ".join(str(x) for x in q.get("rounds_all", [])) if q else "-"))
        w("| vCPU throttle at the end, %% | %s | %s | |" % (
            ", ".join(str(x) for x in h.get("throttle_all", [])) if h else "-",
            ", ".join(str(x) for x in q.get("throttle_all", [])) if q else "-"))
        if case == "b":
            w("| the writer's rate in its last pass before the request (asked: %s/s) | %s/s | %s/s | |"
              % (RATE, fs(h.get("writer_rate") if h else None, "B"), fs(q.get("writer_rate") if q else None, "B")))
        if h and h.get("expected") is not None:
            w("| hyve: its last `status` before the stop (every 50 ms): expected downtime; dirty rate | %s; %s/s | | |"
              % (fs(h["expected"]), fs(h.get("dirty_rate"), "B")))
        if h and h.get("hs_running") is not None:
            w("| hyve: the hand-over at the source, ms after the pause began: vCPUs paused; last round "
              "sent; STATE and END sent; READY received; RUNNING received | %s | | |"
              % "; ".join("%.1f" % (h[k] * 1e3) if h.get(k) is not None else "-"
                          for k in ("hs_paused", "hs_last", "hs_state", "hs_ready", "hs_running")))
        if h and h.get("hd_running") is not None:
            w("| hyve: the hand-over at the destination, ms after END arrived: checked and READY sent; "
              "GO received; vCPUs running and RUNNING sent | %s | | |"
              % "; ".join("%.1f" % (h[k] * 1e3) if h.get(k) is not None else "-"
                          for k in ("hd_ready", "hd_go", "hd_running")))
        if q and q.get("normal") is not None:
            w("| QEMU: pages sent as data (`ram.normal` x page size) | | %s | |" % fs(q["normal"], "B"))
        w("")
        hv = lambda k: h.get(k) if h else None      # noqa: E731
        if case in ("a", "b"):
            summary.append((case, "downtime, guest's view, hyve", fms(hv("gap")), "<= 20 ms",
                            goal(hv("gap"), 0.020)))
            summary.append((case, "downtime, hyve's count", fms(hv("downtime")), "<= 20 ms",
                            goal(hv("downtime"), 0.020)))
        else:
            ok = hv("gap") is not None
            summary.append((case, "downtime, guest's view, hyve (bounded: the migration ends)",
                            fms(hv("gap")), "bounded", "**met**" if ok else "not measured"))
            summary.append((case, "downtime, hyve's count", fms(hv("downtime")), "bounded",
                            "**met**" if hv("downtime") is not None else "not measured"))
        if case == "a":
            nz = med(res.get("nonzero", []))
            rb = ratio(hv("bytes"), nz)
            w("Guest's non-zero RAM (a checkpoint of the source just before: `ram.data_bytes`): %s; "
              "hyve sent %s of it." % (fs(nz, "B"), fr(rb)))
            w("")
            summary.append((case, "bytes sent / guest's non-zero RAM, hyve", fr(rb), "<= 1.1",
                            goal(rb, 1.1)))
        for key, label in (("total_guest", "total time, request to running at the destination"),
                           ("total_answer", "total time, request to the VMM's answer")):
            rt = ratio(hv(key), q.get(key) if q else None)
            summary.append((case, label + ", hyve / QEMU", fr(rt), "<= 1", goal(rt, 1.0)))
    S = ["## Goals", "", "| case | figure | value | goal | |", "|---|---|---:|---:|---|"]
    for r in summary:
        S.append("| %s |" % " | ".join(r))
    S.append("")
    if res["errors"]:
        S.append("Errors during this run (those runs are not in the figures):")
        S.append("")
        for e in res["errors"]:
            S.append("- " + e)
        S.append("")
    idx = next(i for i in range(len(L)) if L[i].startswith("hyve: `hyve --incoming"))
    L[idx:idx] = S
    if args.analysis and os.path.exists(args.analysis):
        w("See bench/ANALYSIS.md, section \"Live migration\", for why each missed goal is missed.")
        w("")
    w(END)
    return "\n".join(L) + "\n", summary


def splice(path, section):
    """Replace the migration section of `path` (or append it): the rest of
    the file is bench/run.sh's checkpoint report."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    a, b = text.find(BEGIN), text.find(END)
    if a >= 0 and b > a:
        text = text[:a] + section.rstrip("\n") + text[b + len(END):]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    if not text.endswith("\n"):
        text += "\n"
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true", help="1 run, a 128 MiB guest")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--mem", help="guest RAM (default 512M; --quick 128M)")
    ap.add_argument("--cases", default="a,b,c")
    ap.add_argument("--vmm", default="hyve,qemu")
    ap.add_argument("--hyve-dst", help="the destination's hyve binary (default BUILD/hyve): "
                    "another build's, to measure two builds against each other")
    ap.add_argument("--dir")
    ap.add_argument("--out", help="the report file: its migration section is replaced")
    ap.add_argument("--analysis", default=None)
    ap.add_argument("--command", default=" ".join(sys.argv))
    args = ap.parse_args()
    args.reps = args.reps or (1 if args.quick else 3)
    args.mem_bytes = size_bytes(args.mem or ("128M" if args.quick else "512M"))
    args.cases = [c for c in args.cases.split(",") if c]
    vmms = args.vmm.split(",")
    if set(args.cases) - set(CASES) or set(vmms) - {"hyve", "qemu"}:
        ap.error("--cases: a,b,c; --vmm: hyve,qemu")
    made_dir = not args.dir
    if made_dir:
        args.dir = subprocess.run(["mktemp", "-d", os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                                "hyve-mig.XXXXXX")],
                                  capture_output=True, text=True, check=True).stdout.strip()
    args.touch = None
    env = Env(args)
    env.quick = args.quick
    env.made_dir = made_dir
    env.hyve_dst = os.path.abspath(args.hyve_dst) if args.hyve_dst else env.hyve
    for f in (env.hyve, env.hyve_dst, env.hyvectl, env.guest):
        if not os.path.exists(f):
            sys.exit("mig_vs_qemu: %s is not built" % f)
    if "qemu" in vmms and not env.qemu:
        sys.exit("mig_vs_qemu: qemu-system-x86_64 is not installed")

    res = {"errors": [], "cases": {}}
    t_start = time.time()
    load0 = " ".join(open("/proc/loadavg").read().split()[:3])
    try:
        for case in args.cases:
            rows = {v: [] for v in vmms}
            for rep in range(args.reps):
                order = vmms if rep % 2 == 0 else vmms[::-1]
                for who in order:
                    try:
                        if who == "hyve":
                            r = run_hyve(env, case, args.mem_bytes, res)
                        else:
                            r = run_qemu(env, case, args.mem_bytes)
                        rows[who].append(r)
                        log("(%s) rep %d %s: guest gap %s, own downtime %s, total %s (answer %s), "
                            "%s sent, rounds %s, throttle %s" % (
                                case, rep + 1, who, fs(r["gap"]), fs(r["downtime"]),
                                fs(r["total_guest"]), fs(r["total_answer"]), fs(r["bytes"], "B"),
                                r.get("rounds"), r.get("throttle")))
                    except Exception as e:        # report the others all the same
                        msg = "(%s) rep %d %s: %s: %s" % (case, rep + 1, who, type(e).__name__,
                                                          str(e).splitlines()[0][:300] if str(e) else "")
                        log(msg)
                        res["errors"].append(msg)
                    finally:
                        env.kill_all()
            res["cases"][case] = {v: summarize(rows[v]) for v in vmms if rows[v]}
            res["cases"][case]["rows"] = rows
        t_end = time.time()
        load1 = " ".join(open("/proc/loadavg").read().split()[:3])
        text, summary = report(env, args, res, t_start, t_end, load0, load1)
        with open(os.path.join(env.dir, "results.json"), "w") as f:
            json.dump(res, f, indent=1, default=str)
        if args.out:
            splice(args.out, text)
        print(text)
    finally:
        env.kill_all()
        if made_dir and not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(args.dir, ignore_errors=True)
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
