#!/usr/bin/env python3
"""Git snapshot cost against git itself, in the same run (docs/snapshots.md).

Makes a repository of FILES small files (a few MB), commits it, then each round changes the same
10 files and times
  turn   a snapshot in a session already open (its private index warm from the last snapshot)
  first  opening a new session and its first snapshot (a copy of the real index)
against what git needs for the same tree:
  cp .git/index TMP && GIT_INDEX_FILE=TMP git add -A && GIT_INDEX_FILE=TMP git write-tree

usage: SNAPSHOT_PROGRAM=build/h-git-rel/tests/unit/recorder/snapshot_probe \\
         scripts/bench.d/snapshot.py [--rounds N] [--files N] [--json]
The program is tests/unit/recorder/snapshot_probe from a Release build. Prints the medians (in
seconds) and their ratio; the target is a ratio <= 1.0 for the turn snapshot."""
import argparse, json, os, random, shutil, statistics, subprocess, sys, tempfile, time

CHANGED = 10
# Neither the machine's nor the user's git config may make one side faster.
GIT_ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
               GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost")


def git(repo, *args, env=GIT_ENV):
    return subprocess.run(["git", "-C", repo, *args], env=env, check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True).stdout


def paths(count):
    """FILES paths, 100 to a directory, two levels deep like a source tree."""
    return [f"mod{i // 1000:02d}/pkg{i // 100 % 10}/file{i % 100:02d}.txt" for i in range(count)]


def make_repository(repo, files):
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
             for _ in range(2000)]
    total = 0
    for path in paths(files):
        full = os.path.join(repo, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        text = "\n".join(" ".join(rng.choices(words, k=8)) for _ in range(rng.randint(2, 6))) + "\n"
        with open(full, "w") as out:
            out.write(text)
        total += len(text)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "bench")
    return total


def change_files(repo, files, round_number):
    every = paths(files)
    for i in range(CHANGED):
        with open(os.path.join(repo, every[i * (files // CHANGED)]), "a") as out:
            out.write(f"round {round_number}\n")


class Probe:
    """The snapshot program, kept running: a session lives as long as the recorder does."""

    def __init__(self, program, repo):
        self.process = subprocess.Popen([program, repo], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True, bufsize=1)

    def timed(self, command):
        start = time.perf_counter()
        self.process.stdin.write(command + "\n")
        answer = self.process.stdout.readline().strip()
        elapsed = time.perf_counter() - start
        if not answer.startswith("ok"):
            sys.exit(f"snapshot.py: {command}: {answer or 'no answer'}")
        self.inside = float(answer.split()[1])  # the program's own count, without the pipe
        return elapsed

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def git_snapshot_seconds(repo, scratch):
    index = os.path.join(scratch, "index")
    env = dict(GIT_ENV, GIT_INDEX_FILE=index)
    start = time.perf_counter()
    # The cp, in this process: git's side is spared a process start, which only makes it harder.
    shutil.copyfile(os.path.join(repo, ".git", "index"), index)
    git(repo, "add", "-A", env=env)
    git(repo, "write-tree", env=env)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    program = os.environ.get("SNAPSHOT_PROGRAM")
    if not program or not os.access(program, os.X_OK):
        sys.exit(__doc__)

    work = tempfile.mkdtemp(prefix="sddsh-snapshot-bench.")
    try:
        repo = os.path.join(work, "repo")
        os.makedirs(repo)
        size = make_repository(repo, options.files)
        change_files(repo, options.files, 0)
        probe = Probe(os.path.abspath(program), repo)
        probe.timed("open refs/sddsh/sessions/bench-turns")
        probe.timed("take refs/sddsh/sessions/bench-turns start")
        git_snapshot_seconds(repo, work)  # warms the same caches for git
        os.sync()  # no writeback of the new repository during the measurements
        turn, first, reference = [], [], []
        for round_number in range(1, options.rounds + 1):
            change_files(repo, options.files, round_number)
            turn.append(probe.timed(f"take refs/sddsh/sessions/bench-turns turn {round_number}"))
            reference.append(git_snapshot_seconds(repo, work))
            ref = f"refs/sddsh/sessions/bench-first-{round_number}"
            first.append(probe.timed(f"open {ref}") + probe.timed(f"take {ref} start"))
            probe.timed(f"close {ref}")
        probe.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    git_median = statistics.median(reference)
    rows = [("turn snapshot", statistics.median(turn), 1.0),
            ("first snapshot", statistics.median(first), None)]
    for name, ours, target in rows:
        label = f"{name} ({options.files} files, {size >> 10} KB, {CHANGED} changed)"
        ratio = ours / git_median
        status = "(info)" if target is None else ("met" if ratio <= target else "NOT MET")
        if options.json:
            print(json.dumps({"name": label, "sddsh_s": round(ours, 4), "reference": "git add -A + write-tree",
                              "reference_s": round(git_median, 4), "ratio": round(ratio, 2),
                              "target": None if target is None else f"<= {target}", "status": status}))
        else:
            print(f"{label:<52} {ours:8.4f}s   git add -A + write-tree {git_median:8.4f}s   "
                  f"ratio {ratio:5.2f}  {'' if target is None else f'(<= {target}) '}{status}")
    if not options.json:
        print(f"({options.rounds} rounds each, medians)")


if __name__ == "__main__":
    main()
