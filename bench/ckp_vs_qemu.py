#!/usr/bin/env python3
"""Side-by-side checkpoint benchmark of issue 6: hyve against QEMU and against
the machine's limits, measured in the same run.  Run it through bench/run.sh,
which builds what it needs; see docs/BENCHMARKS.md for what is measured and
why.

    ckp_vs_qemu.py --build DIR [--quick] [--reps N] [--dir WORKDIR]
                   [--out RESULTS.md] [--cases 1,2,3,4,5] [--no-micro]

Every timed step starts from the same state on both sides: the page cache
dropped (sync; echo 3 > /proc/sys/vm/drop_caches, when root) and as much
memory touched and freed as the step will need (ckp_vs_aux warm; the host
backs a VM's freed memory lazily).  Suspend and the limit write to a
new file in the same directory; restores read cold files.  Figures are
medians of --reps runs, hyve and QEMU interleaved.  Nothing here is a test:
targets are reported as met or missed, never asserted.
"""
import argparse
import json
import os
import platform
import re
import select
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

MiB = 1 << 20
GiB = 1 << 30


def log(msg):
    print("ckp_vs_qemu: " + msg, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# Console: a process's stdout read by a thread, every chunk time-stamped.
# --------------------------------------------------------------------------
class Console:
    def __init__(self, stream):
        self.fd = stream.fileno()
        self.chunks = []        # (monotonic time, bytes)
        self.data = bytearray()
        self.eof = False
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                b = os.read(self.fd, 65536)
            except OSError:
                b = b""
            t = time.monotonic()
            with self.cond:
                if not b:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.chunks.append((t, b))
                self.data += b
                self.cond.notify_all()

    def wait_for(self, pattern, timeout, start=0):
        """Time of the chunk completing `pattern` (bytes or regex) after
        offset `start` of the data; raises on timeout or EOF."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        with self.cond:
            while True:
                m = rx.search(self.data, start)
                if m:
                    end, off = m.end(), 0
                    for t, b in self.chunks:
                        off += len(b)
                        if off >= end:
                            return t
                if self.eof:
                    raise BenchError("console ended before %r; last output: %r"
                                     % (pattern, bytes(self.data[-300:])))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError("no %r within %.0f s; last output: %r"
                                     % (pattern, timeout, bytes(self.data[-300:])))
                self.cond.wait(left)

    def first_chunk(self, timeout):
        """Time of the first byte ever read."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.chunks:
                if self.eof:
                    raise BenchError("console ended without output")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError("no console output within %.0f s" % timeout)
                self.cond.wait(left)
            return self.chunks[0][0]

    def count(self, ch=b"."):
        with self.cond:
            return self.data.count(ch)

    def wait_dots(self, n, timeout):
        """Wait until `n` more dots than now have arrived."""
        deadline = time.monotonic() + timeout
        with self.cond:
            want = self.data.count(b".") + n
            while self.data.count(b".") < want:
                left = deadline - time.monotonic()
                if self.eof or left <= 0:
                    raise BenchError("the beacon stopped (%d dots, wanted %d)"
                                     % (self.data.count(b"."), want))
                self.cond.wait(left)

    def max_dot_gap(self, t0, t1):
        """Longest interval between reads carrying a dot, for reads in
        [t0, t1] (plus the last read before t0)."""
        with self.cond:
            times = [t for t, b in self.chunks if b.count(b".")]
        before = [t for t in times if t < t0]
        inside = [t for t in times if t0 <= t <= t1]
        pts = before[-1:] + inside
        if len(pts) < 2:
            return None
        return max(b - a for a, b in zip(pts, pts[1:]))

    def text(self):
        with self.cond:
            return bytes(self.data).decode(errors="replace")


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------
class Env:
    def __init__(self, args):
        self.build = os.path.abspath(args.build)
        self.hyve = os.path.join(self.build, "hyve")
        self.hyvectl = os.path.join(self.build, "hyvectl")
        self.guest = os.path.join(self.build, "guest.elf")
        self.aux = os.path.join(self.build, "bench", "ckp_vs_aux")
        self.qemu = shutil.which("qemu-system-x86_64")
        self.dir = args.dir
        self.rundir = os.path.join(self.dir, "run")
        os.makedirs(self.rundir, mode=0o700, exist_ok=True)
        self.can_drop = os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK)
        self.procs = []
        self.seq = 0

    def path(self, name):
        return os.path.join(self.dir, name)

    def name(self, what):
        self.seq += 1
        return "bench-%s-%d-%d" % (what, os.getpid(), self.seq)

    def hyve_env(self):
        return dict(os.environ, HYVE_RUNDIR=self.rundir)

    def cold(self, warm_bytes=0):
        """Same starting point for every timed step."""
        os.sync()
        if self.can_drop:
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        if warm_bytes:
            aux(self, "warm", str(warm_bytes))

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        self.procs = []


def aux(env, *args):
    r = subprocess.run([env.aux] + list(args), capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise BenchError("ckp_vs_aux %s: %s" % (" ".join(args), r.stderr.strip()))
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def rm(*paths):
    for p in paths:
        for q in (p, p + ".meta", p + ".done"):
            try:
                os.unlink(q)
            except FileNotFoundError:
                pass


def fincore(path):
    """Bytes of `path` in the page cache (util-linux fincore), or None."""
    try:
        r = subprocess.run(["fincore", "-b", "-n", "-o", "RES", path],
                           capture_output=True, text=True, timeout=30)
        return int(r.stdout.split()[0])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return None


def fsync_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --------------------------------------------------------------------------
# hyve
# --------------------------------------------------------------------------
class Hyve:
    def __init__(self, env, mem, append, cpus=2, devs=(), pass_fds=(), name=None):
        self.env = env
        self.name = name or env.name("h")
        self.errpath = env.path(self.name + ".stderr")
        self.err = open(self.errpath, "w+")
        argv = [env.hyve, "-c", str(cpus), "-m", mem] + list(devs) + [
            "-l", "com1,stdio", "--kernel", env.guest, "--append", append, self.name]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.err, env=env.hyve_env(), pass_fds=pass_fds)
        env.procs.append(self.proc)
        self.con = Console(self.proc.stdout)

    @classmethod
    def restore(cls, env, path, extra=()):
        self = cls.__new__(cls)
        self.env = env
        self.name = None
        self.errpath = path + ".restore.stderr"
        self.err = open(self.errpath, "w+")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen([env.hyve, "-r", path] + list(extra),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.err, env=env.hyve_env())
        env.procs.append(self.proc)
        self.con = Console(self.proc.stdout)
        return self

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.errpath) as f:
            return f.read()

    def ctl(self, *args, timeout=600):
        t0 = time.monotonic()
        r = subprocess.run([self.env.hyvectl, "--vm=" + self.name, "-q"] + list(args),
                           capture_output=True, text=True, env=self.env.hyve_env(),
                           timeout=timeout)
        t1 = time.monotonic()
        if r.returncode != 0:
            raise BenchError("hyvectl %s: %s %s\nhyve: %s" % (" ".join(args), r.stdout.strip(),
                                                             r.stderr.strip(), self.stderr()))
        return t1 - t0, r.stdout.strip()

    def wait_socket(self, timeout=30):
        sock = os.path.join(self.env.rundir, self.name + ".sock")
        deadline = time.monotonic() + timeout
        while not os.path.exists(sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError("hyve %s has no control socket: %s" % (self.name, self.stderr()))
            time.sleep(0.01)

    def suspend(self, path):
        rm(path)
        self.wait_socket()
        dt, out = self.ctl("--suspend=" + path)
        self.proc.wait(timeout=60)
        return dt

    def checkpoint(self, path):
        rm(path)
        self.wait_socket()
        t0 = time.monotonic()
        dt, out = self.ctl("--checkpoint=" + path)
        t1 = time.monotonic()
        m = re.search(r"downtime_ms=([0-9.]+)", out)
        r = re.search(r"rounds=([0-9]+)", out)
        if not m:
            raise BenchError("no downtime_ms in %r" % out)
        return dict(seconds=dt, downtime_s=float(m.group(1)) / 1e3, t0=t0, t1=t1,
                    rounds=int(r.group(1)) if r else None)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self.err.close()


def meta_ram(path):
    """The `ram` section of a JSON meta: size, data_bytes, extents."""
    with open(path + ".meta") as f:
        doc = json.load(f)
    out = {}
    for k, v in doc.get("ram", {}).items():
        name, _, typ = k.partition("$")
        # 64-bit integers are hex strings in the JSON encoding (FORMAT.md).
        if typ.startswith(("uint", "int")) and isinstance(v, str):
            v = int(v, 16)
        out[name] = v
    return out


# --------------------------------------------------------------------------
# QEMU
# --------------------------------------------------------------------------
class Qemu:
    """QEMU 7.2 with the same guest, machine and vCPUs; QMP on a UNIX socket."""

    def __init__(self, env, mem, append, cpus=2, incoming=None, pass_fds=()):
        self.env = env
        self.sock_path = env.path(env.name("q") + ".qmp")
        self.errpath = self.sock_path + ".stderr"
        self.err = open(self.errpath, "w+")
        argv = [env.qemu, "-enable-kvm", "-cpu", "qemu64", "-M", "microvm",
                "-m", str(mem // MiB), "-smp", str(cpus), "-nographic", "-no-reboot",
                "-kernel", env.guest, "-append", append,
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-qmp", "unix:%s,server=on,wait=off" % self.sock_path]
        if incoming:
            argv += ["-incoming", incoming]
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.err, pass_fds=pass_fds)
        env.procs.append(self.proc)
        self.con = Console(self.proc.stdout)
        self.events = []
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(self.sock_path)
                break
            except OSError:
                self.sock.close()
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("QEMU has no QMP socket: " + self.stderr())
                time.sleep(0.002)
        self.f = self.sock.makefile("rw")
        self._read()                     # greeting
        self.cmd("qmp_capabilities")

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(self.errpath) as f:
            return f.read()

    def _read(self):
        line = self.f.readline()
        if not line:
            raise BenchError("QMP closed: " + self.stderr())
        return json.loads(line)

    def cmd(self, name, fds=None, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        data = (json.dumps(msg) + "\n").encode()
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.sendall(data)
        while True:
            r = self._read()
            if "event" in r:
                self.events.append((time.monotonic(), r))
                continue
            if "error" in r:
                raise BenchError("QMP %s: %s" % (name, r["error"]))
            return r.get("return")

    def wait_event(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for i, (t, e) in enumerate(self.events):
                if pred(e):
                    del self.events[i]
                    return t
            if time.monotonic() > deadline:
                raise BenchError("no QMP event within %.0f s" % timeout)
            self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                r = self._read()
            except socket.timeout:
                continue
            finally:
                self.sock.settimeout(None)
            if "event" in r:
                self.events.append((time.monotonic(), r))

    def tune(self, lift=True):
        # QEMU 7.2 caps migration at 128 MiB/s (max-bandwidth) by default:
        # lift it, as libvirt does for a save.  Events tell completion
        # without polling.  Nothing else in 7.2 makes a file faster
        # (multifd needs a socket per channel, compression and xbzrle cost
        # CPU for random data; mapped-ram and file: came in 9.0).
        if lift:
            self.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 50})
        self.cmd("migrate-set-capabilities",
                 capabilities=[{"capability": "events", "state": True}])

    def suspend(self, path, mode, timeout=600):
        """stop + migrate to `path`; returns (completed, file complete,
        durable) seconds from the stop request, and the migration stats."""
        rm(path)
        done = lambda e: e.get("event") == "MIGRATION" and e["data"]["status"] in ("completed", "failed")
        fd = None
        if mode == "fd":
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        t0 = time.monotonic()
        self.cmd("stop")
        if mode == "fd":
            self.cmd("getfd", fds=[fd], fdname="mig")
            self.cmd("migrate", uri="fd:mig")
        else:
            self.cmd("migrate", uri="exec:cat > '%s'; : > '%s.done'" % (path, path))
        t1 = self.wait_event(done, timeout)
        if mode == "fd":
            t2 = time.monotonic()
            os.fsync(fd)
            os.close(fd)
        else:
            while not os.path.exists(path + ".done"):
                time.sleep(0.0005)
            t2 = time.monotonic()
            fsync_file(path)
        t3 = time.monotonic()
        st = self.cmd("query-migrate")
        if st.get("status") != "completed":
            raise BenchError("QEMU migration %s" % st)
        return (t1 - t0, t2 - t0, t3 - t0), st

    def quit(self):
        try:
            self.cmd("quit")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()

    @classmethod
    def restore(cls, env, path, mem, append, mode):
        """QEMU incoming from `path` until the guest's first console byte.
        Returns (seconds to the first byte, seconds until loaded, Qemu)."""
        fd = os.open(path, os.O_RDONLY)
        try:
            self = cls(env, mem, append, incoming="defer", pass_fds=(fd,))
            t0 = self.t0
            self.cmd("migrate-set-capabilities",
                     capabilities=[{"capability": "events", "state": True}])
            uri = "fd:%d" % fd if mode == "fd" else "exec:cat '%s'" % path
            self.cmd("migrate-incoming", uri=uri)
            done = lambda e: e.get("event") == "MIGRATION" and e["data"]["status"] in ("completed", "failed")
            t1 = self.wait_event(done, 600)
            st = self.cmd("query-status")
            if st["status"] not in ("paused", "running", "postmigrate", "prelaunch"):
                raise BenchError("QEMU after incoming: %s" % st)
            # The source was stopped, so the destination stays paused: cont.
            if st["status"] != "running":
                self.cmd("cont")
            t2 = self.con.first_chunk(60)
            return t2 - t0, t1 - t0, self
        finally:
            os.close(fd)


# --------------------------------------------------------------------------
# Statistics and formatting
# --------------------------------------------------------------------------
def size_bytes(s):
    """'64M' -> 67108864 (K/M/G binary suffixes, as the guest reads them)."""
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:].upper())
    return int(s[:-1], 0) * mult if mult else int(s, 0)


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fs(x, unit="s"):
    if x is None:
        return "-"
    if unit == "s":
        if x < 0.01:
            return "%.2f ms" % (x * 1e3)
        if x < 1:
            return "%.0f ms" % (x * 1e3)
        return "%.2f s" % x
    if unit == "B":
        if x >= GiB:
            return "%.2f GiB" % (x / GiB)
        if x >= MiB:
            return "%.1f MiB" % (x / MiB)
        if x >= 1024:
            return "%.1f KiB" % (x / 1024)
        return "%d B" % x
    return str(x)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fr(r):
    return "-" if r is None else ("%.3f" % r if r < 10 else "%.1f" % r)


def verdict(r, target):
    if r is None:
        return "not measured"
    return "**met**" if r <= target else "**missed**"


def spread(v):
    v = [x for x in v if x is not None]
    if len(v) < 2:
        return ""
    return " (%s-%s)" % (fs(min(v)), fs(max(v)))


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------
CHURN = "churn ; beacon"          # churn on vCPU 0, beacon on vCPU 1
ROUND1 = rb"CHURN round 1/"       # the fill pass and one round are done


def hyve_dense(env, mem, append=CHURN):
    h = Hyve(env, mem, append)
    h.con.wait_for(ROUND1, 300)
    return h


def qemu_dense(env, mem_bytes, append=CHURN, tune=True):
    q = Qemu(env, mem_bytes, append)
    q.tune(lift=tune)
    q.con.wait_for(ROUND1, 300)
    return q


def case1(env, R, res):
    """Dense suspend, 1 GiB after churn: hyve vs QEMU vs the file system."""
    log("case 1: dense 1 GiB suspend")
    mem = 1 * GiB
    hy, qfd, qex, lim = [], [], [], {"plain": [], "batched": [], "direct": []}
    parts = {"written": [], "synced": [], "published": []}
    dens = {}
    for rep in range(R):
        p = env.path("c1-hyve.ckp")
        h = hyve_dense(env, "1G")
        env.cold(mem)
        hy.append(h.suspend(p))
        m = re.search(r"suspended to .*: written ([0-9.]+) s, synced ([0-9.]+) s, "
                      r"published ([0-9.]+) ms\)", h.stderr())
        if m:
            parts["written"].append(float(m.group(1)))
            parts["synced"].append(float(m.group(2)))
            parts["published"].append(float(m.group(3)) / 1e3)
        h.kill()
        ram = meta_ram(p)
        info = aux(env, "ram", p)
        dens["hyve"] = (int(ram["data_bytes"]), int(ram["size"]), int(info["allocated"]))
        log("  rep %d hyve %.3f s" % (rep + 1, hy[-1]))
        rm(p)

        for mode, lst in (("fd", qfd), ("exec", qex)):
            if mode == "exec" and env.quick:
                continue
            q = qemu_dense(env, mem)
            env.cold(mem)
            qp = env.path("c1-qemu-%s.mig" % mode)
            t, st = q.suspend(qp, mode)
            q.quit()
            lst.append(t)
            dens["qemu"] = (st["ram"]["normal"] * 4096, st["ram"]["total"],
                            os.stat(qp).st_size)
            log("  rep %d QEMU %s completed %.3f s, durable %.3f s" % (rep + 1, mode, t[0], t[2]))
            rm(qp)

        nbytes = dens["hyve"][0]
        for mode in lim:
            lp = env.path("c1-limit")
            env.cold(mem)
            o = aux(env, "write", lp, str(nbytes), mode)
            lim[mode].append(float(o["seconds"]))
            rm(lp)
        log("  rep %d limit %s" % (rep + 1, ", ".join("%s %.3f" % (k, v[-1]) for k, v in lim.items())))

    r = dict(hyve=med(hy), hyve_all=hy, density=dens,
             parts={k: med(v) for k, v in parts.items() if v})
    if not env.quick:
        # Once, for context: QEMU as shipped (migration capped at 128 MiB/s).
        try:
            q = qemu_dense(env, mem, tune=False)
            env.cold(mem)
            qp = env.path("c1-qemu-default.mig")
            t, st = q.suspend(qp, "fd", timeout=120)
            q.quit()
            r["qemu_default"] = t
            log("  QEMU with default parameters: completed %.3f s, durable %.3f s" % (t[0], t[2]))
            rm(qp)
        except BenchError as e:
            log("  QEMU with default parameters: %s" % e)
            env.kill_all()
    for name, lst in (("qemu_fd", qfd), ("qemu_exec", qex)):
        if lst:
            r[name] = [med([t[i] for t in lst]) for i in range(3)]
    r["limit"] = {k: med(v) for k, v in lim.items()}
    r["limit_all"] = lim
    qd = [r[k][2] for k in ("qemu_fd", "qemu_exec") if k in r]
    qc = [r[k][0] for k in ("qemu_fd", "qemu_exec") if k in r]
    r["qemu_best_durable"] = min(qd)
    r["qemu_best_completed"] = min(qc)
    res["case1"] = r


def case2(env, R, res, touch):
    """Sparse 4 GiB suspend against dense 4 GiB; blocks against touched."""
    log("case 2: sparse vs dense 4 GiB suspend")
    mem = 4 * GiB
    sp, dn, alloc = [], [], []
    info = {}
    app = ("touch %s ; beacon" % touch) if touch else "beacon"
    for rep in range(R):
        p = env.path("c2-sparse.ckp")
        h = Hyve(env, "4G", app)
        if touch:
            h.con.wait_for(rb"TOUCH OK", 120)
        h.con.wait_for(rb"BEACON start", 60)
        h.con.wait_dots(20, 30)
        env.cold()
        sp.append(h.suspend(p))
        h.kill()
        ram = meta_ram(p)
        a = aux(env, "ram", p)
        alloc.append(int(a["allocated"]))
        info["sparse"] = dict(data_bytes=int(ram["data_bytes"]), extents=int(ram.get("extents", 0)),
                              allocated=int(a["allocated"]), size=int(ram["size"]))
        log("  rep %d sparse %.3f s, %d bytes allocated" % (rep + 1, sp[-1], alloc[-1]))
        rm(p)

        p = env.path("c2-dense.ckp")
        h = hyve_dense(env, "4G")
        env.cold(mem)
        dn.append(h.suspend(p))
        h.kill()
        ram = meta_ram(p)
        info["dense"] = dict(data_bytes=int(ram["data_bytes"]), size=int(ram["size"]))
        log("  rep %d dense %.3f s" % (rep + 1, dn[-1]))
        # The last dense checkpoint is case 3's 4 GiB hyve checkpoint.
        if rep == R - 1:
            os.replace(p, env.path("r-hyve-4G.ckp"))
            os.replace(p + ".meta", env.path("r-hyve-4G.ckp.meta"))
        else:
            rm(p)

    # For reference: QEMU on the dense 4 GiB guest (kept for case 3) and
    # the file system's limits for as many bytes.
    qp = env.path("r-qemu-4096M.mig")
    q = qemu_dense(env, mem)
    env.cold(mem)
    t, st = q.suspend(qp, "fd")
    q.quit()
    info["qemu_dense"] = dict(seconds=t[2], completed=t[0])
    log("  QEMU dense 4 GiB completed %.3f s, durable %.3f s" % (t[0], t[2]))
    nbytes = info["dense"]["data_bytes"]
    info["limit_dense"] = {}
    for mode in ("plain", "direct"):
        lp = env.path("c2-limit")
        env.cold(mem)
        o = aux(env, "write", lp, str(nbytes), mode)
        info["limit_dense"][mode] = float(o["seconds"])
        rm(lp)
    log("  limit 4 GiB: " + ", ".join("%s %.3f" % kv for kv in info["limit_dense"].items()))

    # QEMU, for reference: the same idle guest.
    q = Qemu(env, mem, app)
    q.tune()
    if touch:
        q.con.wait_for(rb"TOUCH OK", 120)
    q.con.wait_for(rb"BEACON start", 60)
    q.con.wait_dots(20, 30)
    env.cold()
    qp = env.path("c2-qemu-sparse.mig")
    t, st = q.suspend(qp, "fd")
    q.quit()
    info["qemu_sparse"] = dict(seconds=t[2], completed=t[0], file=os.stat(qp).st_size,
                               allocated=os.stat(qp).st_blocks * 512,
                               normal=st["ram"]["normal"] * 4096)
    rm(qp)
    res["case2"] = dict(sparse=med(sp), sparse_all=sp, dense=med(dn), dense_all=dn,
                        allocated=med(alloc), touch=touch, info=info)


def case3(env, R, res):
    """Restore until the guest runs again: 4 GiB vs 256 MiB, hyve vs QEMU."""
    log("case 3: restore")
    # Checkpoints: hyve 4 GiB comes from case 2; make the rest now.
    h4 = env.path("r-hyve-4G.ckp")
    if not os.path.exists(h4):
        h = hyve_dense(env, "4G")
        h.suspend(h4)
        h.kill()
    h256 = env.path("r-hyve-256M.ckp")
    h = hyve_dense(env, "256M")
    h.suspend(h256)
    h.kill()
    qck = {}
    for size in (256 * MiB, 4 * GiB):
        qp = env.path("r-qemu-%dM.mig" % (size // MiB))
        qck[size] = qp
        if os.path.exists(qp):          # made by case 2
            continue
        q = qemu_dense(env, size)
        q.suspend(qp, "fd")
        q.quit()

    runs = {}

    def add(key, v):
        runs.setdefault(key, []).append(v)

    def hyve_restore(path, extra, key):
        env.cold()
        h = Hyve.restore(env, path, extra)
        t = h.con.first_chunk(120) - h.t0
        if "--no-ram-check" in extra:
            # What the guest made hyve read until it ran (with read-ahead).
            add(key + "_cached", fincore(path))
        h.con.wait_dots(20, 30)          # it really runs
        h.kill()
        m = re.search(r"restored from .* in (\d+) ms", h.stderr())
        add(key, t)
        add(key + "_internal", float(m.group(1)) / 1e3 if m else None)

    def qemu_restore(size, mode, key):
        env.cold()
        t, loaded, q = Qemu.restore(env, qck[size], size, CHURN, mode)
        q.con.wait_dots(20, 30)
        q.quit()
        add(key, t)
        add(key + "_loaded", loaded)

    for rep in range(R):
        hyve_restore(h4, [], "hyve_4G")
        hyve_restore(h256, [], "hyve_256M")
        hyve_restore(h4, ["--no-ram-check"], "hyve_4G_nocheck")
        hyve_restore(h256, ["--no-ram-check"], "hyve_256M_nocheck")
        hyve_restore(h4, ["--verify=lazy"], "hyve_4G_lazy")
        hyve_restore(h256, ["--verify=lazy"], "hyve_256M_lazy")
        if not env.quick:
            hyve_restore(h4, ["--eager"], "hyve_4G_eager")
        qemu_restore(4 * GiB, "fd", "qemu_4G_fd")
        qemu_restore(256 * MiB, "fd", "qemu_256M_fd")
        if not env.quick:
            qemu_restore(4 * GiB, "exec", "qemu_4G_exec")
        log("  rep %d: " % (rep + 1) + ", ".join("%s %.3f" % (k, v[-1]) for k, v in runs.items()
                                                  if v[-1] is not None and "_" in k and not k.endswith(("internal", "loaded"))))
    r = {k: med(v) for k, v in runs.items()}
    r["all"] = runs
    r["qemu_4G_best"] = min(x for x in (r.get("qemu_4G_fd"), r.get("qemu_4G_exec")) if x is not None)
    res["case3"] = r
    for p in list(qck.values()) + [h4, h256]:
        rm(p)


def case4(env, R, res):
    """Checkpoint-and-continue of a dense 1 GiB guest: how long it stops."""
    log("case 4: checkpoint-and-continue")
    h = hyve_dense(env, "1G")
    rows = []
    for rep in range(R):
        p = env.path("c4.ckp")
        h.con.wait_dots(200, 30)
        env.cold(1 * GiB)
        h.con.wait_dots(200, 30)
        c = h.checkpoint(p)
        h.con.wait_dots(300, 30)         # the guest runs on
        c["gap"] = h.con.max_dot_gap(c["t0"], c["t1"] + 0.2)
        # The beacon's own jitter: the same length of time without a checkpoint.
        t0 = time.monotonic()
        time.sleep(min(c["seconds"], 5))
        c["gap_idle"] = h.con.max_dot_gap(t0, time.monotonic())
        rows.append(c)
        log("  rep %d: checkpoint %.3f s, downtime %.1f ms, beacon gap %.1f ms (idle %.1f ms)"
            % (rep + 1, c["seconds"], c["downtime_s"] * 1e3, (c["gap"] or 0) * 1e3,
               (c["gap_idle"] or 0) * 1e3))
        rm(p)
    h.kill()
    res["case4"] = dict(downtime=med([c["downtime_s"] for c in rows]),
                        gap=med([c["gap"] for c in rows]),
                        gap_idle=med([c["gap_idle"] for c in rows]),
                        seconds=med([c["seconds"] for c in rows]),
                        rounds=[c["rounds"] for c in rows], rows=rows)


def case5(env, R, res):
    """The meta of a 2-vCPU guest with every device: size, parse+validate."""
    log("case 5: meta")
    img = [env.path("c5-disk%d.img" % i) for i in (0, 1)]
    for i in img:
        with open(i, "wb") as f:
            f.write(os.urandom(MiB))
            f.truncate(8 * MiB)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    h = Hyve(env, "256M", "copy 1M ; beacon",
             devs=["-s", "0,hostbridge", "-s", "1,lpc", "-s", "2,virtio-net,fd:%d" % a.fileno(),
                   "-s", "3,virtio-blk," + img[0], "-s", "4,virtio-blk," + img[1]],
             pass_fds=(a.fileno(),))
    h.con.wait_for(rb"COPY OK", 60)
    h.con.wait_dots(20, 30)
    out = {}
    for enc in ("json", "bin", "conf"):
        p = env.path("c5-%s.ckp" % enc)
        rm(p)
        h.wait_socket()
        h.ctl("--checkpoint=" + p, "--encoding=" + enc)
        out[enc] = aux(env, "meta", p + ".meta", str(max(R * 7, 21)))
        if enc == "json":
            shutil.copy(p + ".meta", env.path("c5-example.ckp.meta"))
        rm(p)
    h.kill()
    a.close()
    b.close()
    for i in img:
        os.unlink(i)
    res["case5"] = out


def micro(env, res, quick):
    log("micro-benchmarks: bench_meta, bench_ram")
    q = ["--quick"] if quick else []
    for name, args in (("bench_meta", q), ("bench_ram", q + [env.dir])):
        env.cold()
        r = subprocess.run([os.path.join(env.build, "bench", name)] + args,
                           capture_output=True, text=True, timeout=900)
        text = r.stdout + (r.stderr if r.returncode else "")
        if env.made_dir:
            text = text.replace(env.dir, "the work directory")
        res.setdefault("micro", {})[name] = (r.returncode, text)


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return "?"


def machine(env):
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip()
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    fsline = sh("df -T '%s' | awk 'NR==2 {print $2\" on \"$1\" (mounted on \"$7\")\"}'" % env.dir)
    return [
        ("CPU", "%s, %d logical CPUs" % (cpu, os.cpu_count())),
        ("RAM", mem),
        ("kernel", platform.release()),
        # A directory of its own is described, not named: the report is
        # committed, and a path of this machine means nothing elsewhere.
        ("work directory", "%s: %s" % (
            "a new directory under %s (removed afterwards)" % os.path.dirname(env.dir)
            if env.made_dir else env.dir, fsline)),
        ("KVM", "/dev/kvm of a nested VM (kvm_pvm host module, see docs/KVM-HOSTS.md)"
         if "pvm" in sh("cat /proc/modules 2>/dev/null") + sh("dmesg 2>/dev/null | grep -m1 -i pvm") else "/dev/kvm"),
        ("QEMU", sh("%s --version | head -1" % env.qemu)),
        ("hyve", os.environ.get("HYVE_REV") or
         sh("git -C '%s' describe --always --dirty 2>/dev/null" % os.path.dirname(env.build)) or "?"),
    ]


def report(env, args, res, t_start, t_end, load0, load1):
    L = []
    w = L.append
    w("# Checkpoint benchmark: hyve against QEMU and the machine's limits")
    w("")
    w("Written by `bench/run.sh` (issue 6; what is measured and why: docs/BENCHMARKS.md).")
    w("Every ratio divides two figures measured in the same run, on the same file system,")
    w("from the same starting state (page cache dropped and memory pre-touched before each")
    w("timed step%s). Medians of %d run(s) (case 1: %d); ranges in parentheses." %
      ("" if env.can_drop else "; NOT dropped here: not root", args.reps, args.reps1))
    w("")
    w("| | |")
    w("|---|---|")
    w("| date | %s (%.0f s) |" % (time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(t_start)), t_end - t_start))
    w("| command | `%s` |" % args.command)
    for k, v in machine(env):
        w("| %s | %s |" % (k, v))
    w("| load average | %s at start, %s at end (2 CPUs shared with other engineers' builds and tests: figures are noisy, ratios less so) |" % (load0, load1))
    w("")

    summary = []

    c1 = res.get("case1")
    if c1:
        w("## 1. Dense suspend: 1 GiB guest after churn")
        w("")
        dh, sz, al = c1["density"]["hyve"]
        qn, qt, qf = c1["density"]["qemu"]
        w("Guest `%s`, 2 vCPUs, suspended after `CHURN round 1` (every page written). "
          "hyve: `hyvectl --suspend` until it answers (RAM file and meta written, fsync'd, "
          "published). QEMU: QMP `stop` + `migrate` until the MIGRATION event says completed, "
          "then until the file is durable (fsync; QEMU itself never syncs). "
          "Limit: `ckp_vs_aux write` of the same number of bytes to a new file in the same "
          "directory, then fsync." % CHURN)
        w("")
        w("Density: hyve RAM file %s of data in %s (%.1f%% non-zero pages, %s allocated); "
          "QEMU %.1f%% of pages sent as data, stream %s." %
          (fs(dh, "B"), fs(sz, "B"), 100.0 * dh / sz, fs(al, "B"), 100.0 * qn / qt, fs(qf, "B")))
        w("")
        w("| who | how | time | hyve / this |")
        w("|---|---|---:|---:|")
        w("| hyve | `hyvectl --suspend` | %s%s | 1 |" % (fs(c1["hyve"]), spread(c1["hyve_all"])))
        for k, label in (("qemu_fd", "`migrate fd:` (a file descriptor passed over QMP, as libvirt saves)"),
                         ("qemu_exec", "`migrate \"exec:cat > FILE\"`")):
            if k in c1:
                t = c1[k]
                w("| QEMU | %s: completed (data in the page cache) | %s | %s |" % (label, fs(t[0]), fr(ratio(c1["hyve"], t[0]))))
                if k == "qemu_exec":
                    w("| QEMU | same, file complete (cat exited) | %s | %s |" % (fs(t[1]), fr(ratio(c1["hyve"], t[1]))))
                w("| QEMU | same, durable (+ fsync) | %s | %s |" % (fs(t[2]), fr(ratio(c1["hyve"], t[2]))))
        if "qemu_default" in c1:
            t = c1["qemu_default"]
            w("| QEMU | `migrate fd:` with 7.2's default parameters (max-bandwidth 128 MiB/s), 1 run: durable | %s | %s |" % (fs(t[2]), fr(ratio(c1["hyve"], t[2]))))
        names = {"plain": "write() 8 MiB at a time + fsync (the issue's limit)",
                 "batched": "same, writeback started every 8 MiB (sync_file_range)",
                 "direct": "O_DIRECT write()"}
        for k in ("plain", "batched", "direct"):
            w("| limit | %s | %s%s | %s |" % (names[k], fs(c1["limit"][k]), spread(c1["limit_all"][k]),
                                           fr(ratio(c1["hyve"], c1["limit"][k]))))
        w("")
        pt = c1.get("parts", {})
        if pt:
            w("Where hyve's suspend goes (medians, from its log line): pause, device state and "
              "RAM written %s; chunks put again re-hashed and the RAM file fsync'd %s; meta "
              "encoded, written, fsync'd and both files published %s." %
              (fs(pt.get("written")), fs(pt.get("synced")), fs(pt.get("published"))))
            w("")
        rq = ratio(c1["hyve"], c1["qemu_best_durable"])
        rqc = ratio(c1["hyve"], c1["qemu_best_completed"])
        rl = ratio(c1["hyve"], c1["limit"]["plain"])
        rls = ratio(c1["hyve"], min(c1["limit"].values()))
        summary.append(("1", "dense suspend vs QEMU (both durable, QEMU's best mode)", fr(rq), "<= 0.33", verdict(rq, 0.33)))
        summary.append(("1", "dense suspend vs QEMU (QEMU not synced, as `exec:cat` leaves it)", fr(rqc), "<= 0.33", verdict(rqc, 0.33)))
        summary.append(("1", "dense suspend vs the limit (write + fsync)", fr(rl), "<= 1.2", verdict(rl, 1.2)))
        summary.append(("1", "dense suspend vs the best of the three limits", fr(rls), "<= 1.2", verdict(rls, 1.2)))

    c2 = res.get("case2")
    if c2:
        w("## 2. Sparse suspend: 4 GiB guest, little touched")
        w("")
        si = c2["info"]["sparse"]
        if c2["touch"]:
            tsize = c2["touch"].split()[0]
            touched = size_bytes(tsize)
            w("Guest `touch %s ; beacon` (writes a non-zero pattern to %s of RAM, every word, "
              "then idles), against `%s` at 4 GiB (every page written). \"Touched\" is the %s; "
              "the blocks also hold the guest's own image, stacks and page tables (about 140 KiB)."
              % (c2["touch"], tsize, CHURN, tsize))
        else:
            touched = si["data_bytes"]
            w("`--touch none`: the sparse guest is `beacon` alone: it touches only its image, "
              "page tables and stacks. \"Touched\" is then the RAM file's `ram.data_bytes` "
              "(non-zero pages), a lower bound of what the guest wrote. The issue's case is "
              "the default, `--touch 64M`.")
        w("")
        w("| | hyve | notes |")
        w("|---|---:|---|")
        w("| sparse 4 GiB suspend | %s%s | %s of data, %d extents |" % (fs(c2["sparse"]), spread(c2["sparse_all"]), fs(si["data_bytes"], "B"), si["extents"]))
        w("| dense 4 GiB suspend | %s%s | %s of data |" % (fs(c2["dense"]), spread(c2["dense_all"]), fs(c2["info"]["dense"]["data_bytes"], "B")))
        w("| RAM file blocks allocated (st_blocks x 512) | %s | file size %s |" % (fs(c2["allocated"], "B"), fs(si["size"], "B")))
        w("| touched | %s | |" % fs(touched, "B"))
        qd = c2["info"].get("qemu_dense")
        if qd:
            w("| QEMU, dense 4 GiB (reference, 1 run) | %s durable, %s completed | hyve dense / QEMU dense = %s |"
              % (fs(qd["seconds"]), fs(qd["completed"]), fr(ratio(c2["dense"], qd["seconds"]))))
        ld = c2["info"].get("limit_dense")
        if ld:
            w("| limit for the dense 4 GiB (1 run): write + fsync / O_DIRECT | %s / %s | hyve dense / these = %s / %s |"
              % (fs(ld["plain"]), fs(ld["direct"]), fr(ratio(c2["dense"], ld["plain"])), fr(ratio(c2["dense"], ld["direct"]))))
        qs = c2["info"]["qemu_sparse"]
        w("| QEMU, same sparse guest (reference) | %s durable, %s completed | stream %s (zero pages as flags), %s of page data |"
          % (fs(qs["seconds"]), fs(qs["completed"]), fs(qs["file"], "B"), fs(qs["normal"], "B")))
        w("")
        ra = ratio(c2["allocated"], touched)
        rt = ratio(c2["sparse"], c2["dense"])
        summary.append(("2", "sparse RAM file blocks / touched bytes", fr(ra), "<= 1.1", verdict(ra, 1.1)))
        summary.append(("2", "sparse 4 GiB suspend / dense 4 GiB suspend", fr(rt), "<= 0.05", verdict(rt, 0.05)))

    c3 = res.get("case3")
    if c3:
        w("## 3. Restore until the guest runs again")
        w("")
        w("From starting the process to the first console byte the restored guest writes "
          "(`beacon` on vCPU 1 of `%s`, dense checkpoints: every page non-zero), page cache "
          "dropped before each. hyve: `hyve -r FILE.ckp` (RAM mapped MAP_PRIVATE; by default "
          "the RAM file's checksum is verified first). QEMU: `-incoming defer`, "
          "`migrate-incoming`, MIGRATION completed, `cont` (the source was stopped, so the "
          "destination waits paused), first byte. \"internal\" is hyve's own `restored ... in N ms`." % CHURN)
        w("")
        w("| who | how | 256 MiB | 4 GiB | 4 GiB / 256 MiB |")
        w("|---|---|---:|---:|---:|")
        rows = [("hyve", "`hyve -r` (checksum verified)", "hyve_256M", "hyve_4G"),
                ("hyve", "`hyve -r --verify=lazy` (each chunk verified when first touched)", "hyve_256M_lazy", "hyve_4G_lazy"),
                ("hyve", "`hyve -r --no-ram-check`", "hyve_256M_nocheck", "hyve_4G_nocheck"),
                ("hyve", "`hyve -r --eager` (read, verified)", None, "hyve_4G_eager"),
                ("QEMU", "`migrate-incoming fd:` + `cont`", "qemu_256M_fd", "qemu_4G_fd"),
                ("QEMU", "`migrate-incoming \"exec:cat FILE\"` + `cont`", None, "qemu_4G_exec")]
        for who, how, a, b in rows:
            va = c3.get(a) if a else None
            vb = c3.get(b)
            if vb is None:
                continue
            w("| %s | %s | %s | %s%s | %s |" % (who, how, fs(va), fs(vb), spread(c3["all"][b]), fr(ratio(vb, va))))
        w("")
        w("hyve internal restore times (median): 4 GiB %s verified, %s lazy, %s not; 256 MiB %s verified, %s lazy, %s not. "
          "QEMU loaded (incoming completed) 4 GiB: %s." %
          (fs(c3.get("hyve_4G_internal")), fs(c3.get("hyve_4G_lazy_internal")), fs(c3.get("hyve_4G_nocheck_internal")),
           fs(c3.get("hyve_256M_internal")), fs(c3.get("hyve_256M_lazy_internal")), fs(c3.get("hyve_256M_nocheck_internal")),
           fs(c3.get("qemu_4G_fd_loaded"))))
        if c3.get("hyve_4G_nocheck_cached") is not None:
            w("")
            w("RAM file data in the page cache when the restored guest wrote its first byte "
              "(`--no-ram-check`, cold cache; what the guest touched, plus read-ahead): "
              "4 GiB %s, 256 MiB %s." % (fs(c3["hyve_4G_nocheck_cached"], "B"),
                                         fs(c3.get("hyve_256M_nocheck_cached"), "B")))
        w("")
        r1 = ratio(c3.get("hyve_4G"), c3.get("hyve_256M"))
        r1n = ratio(c3.get("hyve_4G_nocheck"), c3.get("hyve_256M_nocheck"))
        r1l = ratio(c3.get("hyve_4G_lazy"), c3.get("hyve_256M_lazy"))
        r2l = ratio(c3.get("hyve_4G_lazy"), c3["qemu_4G_best"])
        r2 = ratio(c3.get("hyve_4G"), c3["qemu_4G_best"])
        r2n = ratio(c3.get("hyve_4G_nocheck"), c3["qemu_4G_best"])
        summary.append(("3", "restore 4 GiB / 256 MiB (hyve default: checksum verified)", fr(r1), "<= 1.5", verdict(r1, 1.5)))
        summary.append(("3", "restore 4 GiB / 256 MiB (hyve --verify=lazy: every chunk checked before the guest sees it)", fr(r1l), "<= 1.5", verdict(r1l, 1.5)))
        summary.append(("3", "restore 4 GiB / 256 MiB (hyve --no-ram-check)", fr(r1n), "<= 1.5", verdict(r1n, 1.5)))
        summary.append(("3", "restore 4 GiB, hyve default / QEMU's best", fr(r2), "<= 0.1", verdict(r2, 0.1)))
        summary.append(("3", "restore 4 GiB, hyve --verify=lazy / QEMU's best", fr(r2l), "<= 0.1", verdict(r2l, 0.1)))
        summary.append(("3", "restore 4 GiB, hyve --no-ram-check / QEMU's best", fr(r2n), "<= 0.1", verdict(r2n, 0.1)))

    c4 = res.get("case4")
    if c4:
        w("## 4. Checkpoint-and-continue: how long the guest stops")
        w("")
        w("`hyvectl --checkpoint` of a running `%s` 1 GiB guest (churn keeps writing all of "
          "its RAM), page cache dropped before each. downtime = hyve's `downtime_ms` (pause to "
          "resume); beacon gap = the longest interval between two console reads carrying dots "
          "during the checkpoint, as the host sees the guest (`beacon` writes one every 1 ms; "
          "\"idle\" is the same measure over as long without a checkpoint: the beacon's jitter "
          "on this machine)." % CHURN)
        w("")
        w("| | median | runs |")
        w("|---|---:|---|")
        w("| checkpoint total (request to answer) | %s | %s |" % (fs(c4["seconds"]), ", ".join(fs(c["seconds"]) for c in c4["rows"])))
        w("| downtime_ms (hyve) | %s | %s |" % (fs(c4["downtime"]), ", ".join(fs(c["downtime_s"]) for c in c4["rows"])))
        w("| longest beacon gap during the checkpoint | %s | %s |" % (fs(c4["gap"]), ", ".join(fs(c["gap"]) for c in c4["rows"])))
        w("| longest beacon gap, no checkpoint | %s | %s |" % (fs(c4["gap_idle"]), ", ".join(fs(c["gap_idle"]) for c in c4["rows"])))
        w("| rounds | | %s |" % ", ".join(str(x) for x in c4["rounds"]))
        if c1:
            w("| dense 1 GiB suspend (case 1) | %s | |" % fs(c1["hyve"]))
        w("")
        if c1:
            r = ratio(c4["downtime"], c1["hyve"])
            rg = ratio(c4["gap"], c1["hyve"])
            summary.append(("4", "checkpoint downtime / dense suspend (hyve's downtime_ms)", fr(r), "<= 0.1", verdict(r, 0.1)))
            summary.append(("4", "checkpoint downtime / dense suspend (guest-side beacon gap)", fr(rg), "<= 0.1", verdict(rg, 0.1)))

    c5 = res.get("case5")
    if c5:
        w("## 5. Meta: 2 vCPUs, every device")
        w("")
        w("Guest `copy 1M ; beacon` with hostbridge, lpc, virtio-net (a socketpair backend), two "
          "virtio-blk, com1, checkpointed after `COPY OK` in each encoding. libckp decode = "
          "parse + types + checksum (`ckp_doc_decode`); open = `ckp_checkpoint_open` without "
          "hashing RAM (recovery check, file read, decode, ram section, RAM file size); "
          "hyve prepare = `restore_prepare` without the RAM hash (all that plus configuration, "
          "memory layout, vCPU and device sections: what `hyve -r` checks before creating "
          "anything). Baseline: json-c `json_tokener_parse` of the same document as JSON. Medians of %s runs." % c5["json"]["reps"])
        w("")
        w("| encoding | size | fields / sections | json-c parse | libckp decode | x json-c | open | x json-c | hyve prepare | x json-c |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for enc in ("json", "bin", "conf"):
            o = c5[enc]
            j = float(o["jsonc_s"])
            d, op, pr = float(o["decode_s"]), float(o["open_s"]), float(o["prepare_s"])
            w("| %s | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s |" % (
                enc, fs(int(o["bytes"]), "B"), o["fields"], o["sections"], fs(j), fs(d), fr(d / j),
                fs(op), fr(op / j), fs(pr), fr(pr / j)))
        w("")
        o = c5["json"]
        r = float(o["prepare_s"]) / float(o["jsonc_s"])
        rd = float(o["decode_s"]) / float(o["jsonc_s"])
        summary.append(("5", "JSON meta: libckp parse+validate (decode) / json-c parse", fr(rd), "<= 1.5", verdict(rd, 1.5)))
        summary.append(("5", "JSON meta: hyve restore_prepare / json-c parse", fr(r), "<= 1.5", verdict(r, 1.5)))

    # Summary goes first after the machine table.
    S = ["## Targets", "", "| case | figure | ratio | target | |", "|---|---|---:|---:|---|"]
    for row in summary:
        S.append("| %s |" % " | ".join(row))
    S.append("")
    if res.get("errors"):
        S.append("Errors during this run (cases not reported):")
        S.append("")
        for e in res["errors"]:
            S.append("- " + e)
        S.append("")
    idx = next(i for i in range(len(L)) if L[i].startswith("| load average")) + 2
    L[idx:idx] = S

    m = res.get("micro")
    if m:
        w("## Micro-benchmarks (same run)")
        w("")
        for name in ("bench_meta", "bench_ram"):
            if name in m:
                rc, out = m[name]
                w("### %s%s" % (name, "" if rc == 0 else " (exit %d)" % rc))
                w("")
                w(out.rstrip())
                w("")
    if args.analysis and os.path.exists(args.analysis):
        with open(args.analysis) as f:
            w(f.read().rstrip())
            w("")
    text = "\n".join(L) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    return text, summary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--dir")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cases", default="1,2,3,4,5")
    ap.add_argument("--no-micro", action="store_true")
    # The case 2: 64 MiB touched in 4 GiB.  "none": the idle guest
    # alone ("touched" is then what it allocates: image, stacks, tables).
    # The value is touch's arguments: "64M scatter" spreads the 64 MiB.
    ap.add_argument("--touch", default="64M",
                    help="case 2's guest workload 'touch ARGS' (default 64M; '64M scatter'; "
                    "none: beacon alone)")
    ap.add_argument("--analysis", default=None, help="markdown appended to the report")
    ap.add_argument("--command", default=" ".join(sys.argv))
    args = ap.parse_args()
    if args.touch in ("none", ""):
        args.touch = None
    elif args.touch:
        try:
            if size_bytes(args.touch.split()[0]) <= 0:
                raise ValueError
        except ValueError:
            ap.error("--touch %s: touch's arguments, starting with a size (K, M or G suffix), "
                     "or none" % args.touch)
    # Case 1's runs are short and its ratios the tightest: more of them.
    args.reps1 = args.reps if args.reps else (1 if args.quick else 5)
    if args.reps is None:
        args.reps = 1 if args.quick else 3
    made_dir = False
    if not args.dir:
        base = os.environ.get("TMPDIR", "/tmp")
        args.dir = subprocess.run(["mktemp", "-d", os.path.join(base, "hyve-bench.XXXXXX")],
                                  capture_output=True, text=True, check=True).stdout.strip()
        made_dir = True
    env = Env(args)
    env.quick = args.quick
    env.made_dir = made_dir
    for f in (env.hyve, env.hyvectl, env.guest, env.aux):
        if not os.path.exists(f):
            sys.exit("ckp_vs_qemu: %s is not built" % f)
    if not env.qemu:
        sys.exit("ckp_vs_qemu: qemu-system-x86_64 is not installed")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        sys.exit("ckp_vs_qemu: /dev/kvm is not usable")
    if not env.can_drop:
        log("not root: the page cache cannot be dropped, restores are measured warm")

    cases = set(args.cases.split(","))
    res = {"errors": []}
    t_start = time.time()
    load0 = " ".join(open("/proc/loadavg").read().split()[:3])
    steps = [("1", lambda: case1(env, args.reps1, res)),
             ("2", lambda: case2(env, args.reps, res, args.touch)),
             ("3", lambda: case3(env, args.reps, res)),
             ("4", lambda: case4(env, args.reps, res)),
             ("5", lambda: case5(env, args.reps, res))]
    try:
        for key, fn in steps:
            if key not in cases:
                continue
            try:
                fn()
            except Exception as e:        # report the others all the same
                log("case %s failed: %s: %s" % (key, type(e).__name__, e))
                res["errors"].append("case %s: %s" % (key, str(e).splitlines()[0][:300]))
            finally:
                env.kill_all()
        if not args.no_micro:
            micro(env, res, args.quick)
        t_end = time.time()
        load1 = " ".join(open("/proc/loadavg").read().split()[:3])
        text, summary = report(env, args, res, t_start, t_end, load0, load1)
        with open(os.path.join(env.dir, "results.json"), "w") as f:
            json.dump(res, f, indent=1, default=str)
        print(text)
    finally:
        env.kill_all()
        if made_dir and not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(args.dir, ignore_errors=True)
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
