#!/usr/bin/env python3
"""Pause and move a QEMU guest running `beacon 1000` and watch its console.

Usage: beacon_pause.py QEMU GUEST_ELF TMPDIR

1. Boots GUEST_ELF under QEMU (-M microvm) with `beacon 1000` (forever),
   console on a pipe, QMP on a UNIX socket; waits for 50 dots.
2. QMP `stop`, 1 s, `cont`, 0.5 s.
3. QMP `stop`, `migrate` to a file, `quit`; a second QEMU process loads the
   file (-incoming, -S), waits 0.5 s, `cont`, 0.5 s, `quit`.

Prints key=value lines for tests/e2e/guest_beacon.sh:
  paused_dots        dots that arrived while the VM was stopped (50 ms after
                     the stop answered, to let the pipe drain)
  cont_first_ms      first dot after `cont`, ms after it was sent
  cont_excess        max over reads after `cont` of
                     dots_so_far - (ms since cont + 1): above 0 means more dots
                     than one a millisecond, i.e. a burst
  restored_early     dots from the restored process before its `cont`
  restored_first_ms, restored_excess: the same after the restored `cont`
Exit status 0 when it could measure, 1 (with a message) when QEMU misbehaved.
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time


def die(msg):
    print("beacon_pause: " + msg, file=sys.stderr)
    sys.exit(1)


class Qemu:
    def __init__(self, qemu, guest, tmp, extra):
        self.sock_path = os.path.join(tmp, "qmp-%d.sock" % len(os.listdir(tmp)))
        self.stamps = []        # (monotonic time, dots in this read)
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(
            [qemu, "-enable-kvm", "-cpu", "qemu64", "-M", "microvm", "-smp", "1", "-m", "64",
             "-display", "none", "-serial", "stdio", "-monitor", "none",
             "-qmp", "unix:%s,server=on,wait=off" % self.sock_path, "-no-reboot",
             "-kernel", guest, "-append", "beacon 1000",
             "-device", "isa-debug-exit,iobase=0xf4,iosize=4"] + extra,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 10
        while True:
            try:
                self.qmp = socket.socket(socket.AF_UNIX)
                self.qmp.connect(self.sock_path)
                break
            except OSError:
                self.qmp.close()
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    die("no QMP socket from QEMU")
                time.sleep(0.02)
        self.rfile = self.qmp.makefile("r")
        self.rfile.readline()   # greeting
        self.cmd("qmp_capabilities")

    def _read(self):
        fd = self.proc.stdout.fileno()
        while True:
            b = os.read(fd, 65536)
            if not b:
                return
            t = time.monotonic()
            with self.lock:
                self.stamps.append((t, b.count(b".")))

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.qmp.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            line = self.rfile.readline()
            if not line:
                if name == "quit":
                    return None
                die("QMP closed during %s" % name)
            r = json.loads(line)
            if "return" in r:
                return r["return"]
            if "error" in r:
                die("QMP %s: %s" % (name, r["error"]))

    def dots(self, since=0.0, until=float("inf")):
        with self.lock:
            return sum(n for t, n in self.stamps if since <= t < until)

    def wait_dots(self, n, since, timeout):
        deadline = time.monotonic() + timeout
        while self.dots(since) < n:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def after(self, t0):
        """first dot (ms after t0) and the burst excess, over reads after t0"""
        with self.lock:
            reads = [(t, n) for t, n in self.stamps if t >= t0 and n]
        if not reads:
            return None, None
        total, excess = 0, -10**9
        for t, n in reads:
            total += n
            excess = max(excess, total - ((t - t0) * 1000 + 1))
        return (reads[0][0] - t0) * 1000, int(excess)

    def quit(self):
        self.cmd("quit")
        self.proc.wait(timeout=10)


def main():
    if len(sys.argv) != 4:
        die("usage: beacon_pause.py QEMU GUEST_ELF TMPDIR")
    qemu, guest, tmp = sys.argv[1:]
    q = Qemu(qemu, guest, tmp, [])
    if not q.wait_dots(50, 0, 20):
        die("no beacon from the guest")
    q.cmd("stop")
    t_stop = time.monotonic()
    time.sleep(1.0)
    t_cont = time.monotonic()
    q.cmd("cont")
    paused = q.dots(t_stop + 0.05, t_cont)
    if not q.wait_dots(1, t_cont, 10):
        die("no beacon after cont")
    time.sleep(0.5)
    first, excess = q.after(t_cont)
    print("paused_dots=%d" % paused)
    print("cont_first_ms=%.1f" % first)
    print("cont_excess=%d" % excess)

    mig = os.path.join(tmp, "beacon.mig")
    q.cmd("stop")
    q.cmd("migrate", uri="exec:cat > '%s'" % mig)
    deadline = time.monotonic() + 30
    while q.cmd("query-migrate").get("status") != "completed":
        if time.monotonic() > deadline:
            die("migration to a file did not complete")
        time.sleep(0.05)
    q.quit()

    r = Qemu(qemu, guest, tmp, ["-S", "-incoming", "exec:cat '%s'" % mig])
    deadline = time.monotonic() + 30
    while r.cmd("query-migrate").get("status") != "completed":
        if time.monotonic() > deadline:
            die("the restored QEMU did not load the file")
        time.sleep(0.02)
    time.sleep(0.5)
    t_cont = time.monotonic()
    early = r.dots(0, t_cont)
    r.cmd("cont")
    if not r.wait_dots(1, t_cont, 10):
        die("no beacon after the restored cont")
    time.sleep(0.5)
    first, excess = r.after(t_cont)
    print("restored_early=%d" % early)
    print("restored_first_ms=%.1f" % first)
    print("restored_excess=%d" % excess)
    r.quit()


main()
