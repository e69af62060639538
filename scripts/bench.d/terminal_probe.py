#!/usr/bin/env python3
"""Measurements that need a terminal of our own: run a command on a PTY we hold, then
  latency N          type N keys into `cat`, 30 ms apart (three times a very fast typist), each
                     waiting for its echo; print p50 p99 in ms
  latency-hidden N   the same in sddsh's window 1, first alone, then with two more windows
                     (prefix c) printing at full speed, hidden; print p50 p99 alone, p50 p99 with
  idle SECONDS       let it sit; print CPU % and context switches per second of the command's
                     process (an upper bound of its wake-ups: writes to the PTY count too)
  rss SECONDS        print the resident memory (MB) of the command's process once its output has
                     been quiet for SECONDS
usage: terminal_probe.py MODE ARG -- COMMAND...   (prints one line of numbers)"""
import os, pty, select, signal, sys, time

def spawn(argv, rows=30, cols=100):
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm-256color"
        os.execvp(argv[0], argv)
    import fcntl, struct, termios
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    return pid, fd

def read_until(fd, needle, timeout, seen=b""):
    end = time.monotonic() + timeout
    while needle not in seen:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(needle)
        r, _, _ = select.select([fd], [], [], left)
        if r:
            seen += os.read(fd, 65536)
    return seen

def drain(fd, quiet=0.3):
    while select.select([fd], [], [], quiet)[0]:
        try:
            os.read(fd, 65536)
        except OSError:
            return

def answer_queries(fd, seconds):
    """Play a terminal that answers DA1, so that the program's start-up probe ends at once."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.05)[0]:
            data = os.read(fd, 65536)
            if b"\x1b[c" in data:
                os.write(fd, b"\x1b[?62;22c")

def echo_samples(fd, n):
    """Milliseconds from each of n keys to its echo."""
    samples = []
    for i in range(n):
        ch = bytes([ord("a") + i % 26])
        t0 = time.perf_counter()
        os.write(fd, ch)
        read_until(fd, ch, 5.0)
        samples.append((time.perf_counter() - t0) * 1000)
        drain(fd, 0.03)  # the gap between two keystrokes; whatever else is drawn meanwhile is read
    samples.sort()
    return samples[len(samples) // 2], samples[int(len(samples) * 0.99) - 1]

def latency(n, argv):
    pid, fd = spawn(argv)
    answer_queries(fd, 1.0)
    drain(fd)
    p50, p99 = echo_samples(fd, n)
    os.kill(pid, signal.SIGKILL)
    print("%.2f %.2f" % (p50, p99))

def processes_with_argument(argument):
    found = []
    for name in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                if argument.encode() in f.read().split(b"\0"):
                    found.append(int(name))
        except (OSError, ValueError):
            pass
    return found

def open_printing_window(fd, line):
    """sddsh's prefix c: the new-window dialog, its command (the one sddsh started with) erased and
    replaced by `yes LINE`; back once that window's printer runs (it is in front then)."""
    os.write(fd, b"\x1dc" + b"\x7f" * 64 + b"yes '" + line.encode() + b"'\r")
    end = time.monotonic() + 10
    while not processes_with_argument(line):
        if time.monotonic() > end:
            raise TimeoutError("no window printing " + line)
        drain(fd, 0.02)

def terminate(pid, fd):
    os.kill(pid, signal.SIGTERM)  # sddsh ends every window's agent and finishes their sessions
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return
        drain(fd, 0.05)
    os.kill(pid, signal.SIGKILL)

def latency_hidden(n, argv):
    pid, fd = spawn(argv)
    answer_queries(fd, 1.0)
    drain(fd)
    alone = echo_samples(fd, n)
    # Two windows of build-log-like lines, the second in front once opened.
    open_printing_window(fd, "second window: compiling the first translation unit of a long build")
    open_printing_window(fd, "third window, printing too: warning about an unused variable here")
    os.write(fd, b"\x1d1")  # back to window 1; the others go on printing, hidden
    drain(fd)
    printing = echo_samples(fd, n)
    terminate(pid, fd)
    print("%.2f %.2f %.2f %.2f" % (alone + printing))

def proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    with open("/proc/%d/status" % pid) as f:
        status = dict(line.split(":", 1) for line in f if ":" in line)
    switches = int(status["voluntary_ctxt_switches"]) + int(status["nonvoluntary_ctxt_switches"])
    return ticks, switches, int(status["VmRSS"].split()[0])

def idle(seconds, argv):
    pid, fd = spawn(argv)
    answer_queries(fd, 1.5)
    drain(fd)
    t0, s0, _ = proc_stat(pid)
    time.sleep(seconds)  # the measurement itself: nothing happens, and we count what it costs
    t1, s1, _ = proc_stat(pid)
    os.kill(pid, signal.SIGKILL)
    hz = os.sysconf("SC_CLK_TCK")
    print("%.2f %.2f" % (100.0 * (t1 - t0) / hz / seconds, (s1 - s0) / seconds))

def rss(quiet, argv):
    pid, fd = spawn(argv)
    answer_queries(fd, 0.5)
    drain(fd, quiet)
    print("%.1f" % (proc_stat(pid)[2] / 1024.0))
    os.kill(pid, signal.SIGKILL)

if __name__ == "__main__":
    mode, arg, sep, *argv = sys.argv[1:]
    assert sep == "--", __doc__
    {"latency": lambda: latency(int(arg), argv), "latency-hidden": lambda: latency_hidden(int(arg), argv),
     "idle": lambda: idle(float(arg), argv),
     "rss": lambda: rss(float(arg), argv)}[mode]()
