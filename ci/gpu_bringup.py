#!/usr/bin/env python3
"""The GPU bring-up: the one command a GPU session runs (ci/gpu-bringup.sh is its wrapper).

    ci/gpu-bringup.sh [--out DIR] [--orac PATH] [--deadline SECS] [--rehearse] ...

It checks that the carried orac runs on the machine (its glibc needs against the host's, the
driver), then runs prioritised sections, each with a declared time budget, under one internal
deadline (6 minutes by default): preflight, info, verify, the quick suite, the PyTorch/Triton
peers, then the sections other work adds (verdict accuracy, the emulator cross-check, the
offline kernel check, A/A and A/B, faults in a real run). A section whose budget no longer
fits in what is left of the deadline is skipped, and the status says so; a section that runs
past its budget has its process group interrupted (SIGINT: orac keeps what it measured), then
killed.

After every section it rewrites OUT (default: $OUT, else ./gpu-out), atomically, with at most
three files: bundle.tar.gz (every log, raw output and results file), summary.md (the tables as
text) and status.json (which sections finished, failed, timed out or were skipped, with
timings). A timeout from outside still leaves the sections before it. Rerun with the same OUT
(or --resume DIR holding a previous status.json and bundle.tar.gz) and the sections that
finished are not run again. Every line a section prints is echoed as it comes, prefixed with
the section's name: orac prints a line per finished benchmark.

--rehearse runs the same sections on the CPU backend (what CI and ci/rehearse.sh check); the
ones that need a GPU are skipped with the reason. No third-party modules: the GPU machine has
Python 3 but nothing can be installed there.
"""

import argparse
import datetime
import hashlib
import importlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Commands run from the checkout, so orac records its commit; outputs go to absolute paths.
REPO = os.path.dirname(HERE)
SCHEMA = 1
# What the device tool brings back: at most 8 files, 16 MiB each, two folders deep.
MAX_FILES = 8
MAX_FILE_BYTES = int(os.environ.get("ORAC_BRINGUP_MAX_FILE_BYTES", 15 * 1024 * 1024))
OUT_FILES = ("bundle.tar.gz", "summary.md", "status.json")
# Scratch trees ci/gpu-experiments.sh rebuilds each time: not worth a place in the bundle.
REBUILT = ("experiments/ab-repo", "experiments/fault-kernels")
# Kept back from the deadline to write the last bundle.
RESERVE_S = 5.0


class Section:
    def __init__(self, name, budget, doc, run, elastic_min=None):
        self.name = name
        self.budget = budget  # seconds
        self.doc = doc
        self.run = run  # run(ctx) -> None; ctx.state/reason say how it went
        # Elastic sections (the budgeted experiments) run in whatever is left, down to this.
        self.elastic_min = elastic_min


class Timeout(Exception):
    pass


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write(path, data):
    """Writes bytes or text to path through a temporary file and a rename."""
    tmp = path + ".tmp"
    mode = "wb" if isinstance(data, bytes) else "w"
    with open(tmp, mode) as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def descendants(pid):
    """Every live process descended from pid (via /proc), whatever its process group: orac's
    workers run in groups of their own."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def signal_all(pgid, pids, sig):
    try:
        os.killpg(pgid, sig)
    except OSError:
        pass
    for p in pids:
        try:
            os.kill(p, sig)
        except OSError:
            pass


class Bringup:
    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.started = now_iso()
        self.out = os.path.abspath(args.out)
        os.makedirs(self.out, exist_ok=True)
        if args.work:
            self.work = os.path.abspath(args.work)
            os.makedirs(self.work, exist_ok=True)
            self.own_work = False
        else:
            self.work = tempfile.mkdtemp(prefix="orac-bringup-")
            self.own_work = True
        self.backend = "cpu" if args.rehearse else args.backend
        self.orac = args.orac
        self.console = open(os.path.join(self.work, "console.log"), "a")
        self.lock = threading.RLock()
        self.records = {}
        self.preflight = {}
        self.left_out = []
        self.current = None  # (record, Popen) while a command runs
        self.orac_runs = True
        self.deadline = args.deadline if args.deadline > 0 else None
        self.notes = []
        for f in os.listdir(self.out):  # a temporary file a killed run left behind
            if f.endswith(".tmp"):
                os.remove(os.path.join(self.out, f))

    # --- output ---------------------------------------------------------------------------
    def say(self, line, section=None):
        text = f"[{section}] {line}" if section else line
        with self.lock:
            print(text, flush=True)
            self.console.write(text + "\n")
            self.console.flush()

    def elapsed(self):
        return time.monotonic() - self.t0

    def extend(self, rec, secs):
        """A little more time for a section's last step (the table after a timed-out run),
        never past the deadline's reserve."""
        end = time.monotonic() + secs
        if self.deadline is not None:
            end = min(end, self.t0 + self.deadline - RESERVE_S)
        rec["_ends"] = max(rec["_ends"], end)

    def left(self):
        """Seconds a section may still be given: what the deadline leaves after the last
        bundle and a kill's grace period."""
        if self.deadline is None:
            return float("inf")
        return self.deadline - RESERVE_S - self.args.grace - self.elapsed()

    # --- config and resume -------------------------------------------------------------------
    def config(self):
        try:
            with open(self.orac, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
        except OSError:
            digest = None
        return {
            "backend": self.backend,
            "profile": self.args.profile,
            "filter": self.args.filter,
            "max_time": self.args.max_time,
            "rehearse": self.args.rehearse,
            "orac": self.orac,
            "orac_sha256": digest,
        }

    def load_earlier(self, sections):
        """Takes the finished sections of an earlier run with the same binary and settings:
        their records, and their files from its bundle."""
        src = self.args.resume or self.out
        status_path = os.path.join(src, "status.json")
        if self.args.fresh or not os.path.exists(status_path):
            return
        try:
            with open(status_path) as f:
                earlier = json.load(f)
        except (OSError, ValueError) as e:
            self.say(f"note: ignoring {status_path}: {e}")
            return
        mine, theirs = self.config(), earlier.get("config", {})
        differ = [k for k in mine if k != "orac" and mine[k] != theirs.get(k)]
        if differ:
            self.say(f"note: {status_path} is from another binary or settings ({', '.join(differ)}): starting afresh")
            return
        bundle = os.path.join(src, "bundle.tar.gz")
        if os.path.exists(bundle):
            with tarfile.open(bundle) as tar:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(self.work, filter="data")
                else:  # Python < 3.11.4; the bundle is our own
                    tar.extractall(self.work)
        redo = set(self.args.redo or [])
        names = {s.name for s in sections}
        for rec in earlier.get("sections", []):
            name = rec.get("name")
            if name in names and name != "preflight" and name not in redo and rec.get("state") in ("ok", "failed"):
                rec = dict(rec)
                rec["earlier"] = True
                self.records[name] = rec
        done = [n for n in self.records]
        if done:
            self.say(f"resuming from {src}: not running again {', '.join(done)} (finished earlier; --redo NAME or --fresh to rerun)")

    # --- the bundle --------------------------------------------------------------------------
    def status(self, state):
        return {
            "schema": SCHEMA,
            "tool": "ci/gpu_bringup.py",
            "started": self.started,
            "updated": now_iso(),
            "state": state,
            "elapsed_s": round(self.elapsed(), 2),
            "deadline_s": self.deadline,
            "config": self.config(),
            "preflight": self.preflight,
            "sections": [
                {k: v for k, v in self.records[s.name].items() if not k.startswith("_")}
                for s in self.sections
                if s.name in self.records
            ],
            "left_out_of_bundle": self.left_out,
            "notes": self.notes,
            "exit_code": self.exit_code(),
        }

    def exit_code(self):
        for s in self.sections:
            rec = self.records.get(s.name, {})
            if rec.get("state") in ("failed", "timed_out", "interrupted"):
                return rec.get("rc") or 1
        return 0

    def write_status(self, state):
        atomic_write(os.path.join(self.out, "status.json"), json.dumps(self.status(state), indent=2) + "\n")

    def write_bundle(self, state):
        """bundle.tar.gz of the work directory, then summary.md and status.json: each through a
        temporary file and a rename, status last so it never names a section the bundle lacks."""
        with self.lock:
            self.console.flush()
        files = []
        for root, dirs, names in os.walk(self.work):
            dirs[:] = [
                d
                for d in dirs
                if os.path.abspath(os.path.join(root, d)) != self.out
                and os.path.relpath(os.path.join(root, d), self.work) not in REBUILT
            ]
            for n in names:
                p = os.path.join(root, n)
                if os.path.isfile(p) and not os.path.islink(p):
                    files.append(p)
        files.sort(key=lambda p: os.path.getsize(p))
        self.left_out = []
        tmp = os.path.join(self.out, "bundle.tar.gz.tmp")
        while True:
            with tarfile.open(tmp, "w:gz") as tar:
                for p in files:
                    tar.add(p, arcname=os.path.relpath(p, self.work), recursive=False)
            if os.path.getsize(tmp) <= MAX_FILE_BYTES or not files:
                break
            big = files.pop()  # the largest, until the bundle fits what comes back
            self.left_out.append(f"{os.path.relpath(big, self.work)} ({os.path.getsize(big)} bytes)")
        os.replace(tmp, os.path.join(self.out, "bundle.tar.gz"))
        atomic_write(os.path.join(self.out, "summary.md"), self.summary(state))
        self.write_status(state)

    def summary(self, state):
        pf = self.preflight
        lines = [
            "# orac GPU bring-up" + (" (CPU rehearsal)" if self.args.rehearse else ""),
            "",
            f"{state}, {self.elapsed():.0f} s of a {self.deadline or 'unlimited'} s deadline; started {self.started}; "
            f"backend `{self.backend}`, profile `{self.args.profile}`",
            "",
        ]
        if pf:
            lines += [
                f"- machine: {pf.get('machine', '?')}, glibc {pf.get('glibc_host', '?')} "
                f"(orac needs {pf.get('glibc_needed') or 'unknown'}: {'ok' if pf.get('glibc_ok') else 'NOT OK'})",
                f"- orac: {pf.get('orac_version', '?')}",
                f"- GPU: {pf.get('gpu', '?')}",
                "",
            ]
        lines += ["| section | state | time | budget | note |", "|---|---|--:|--:|---|"]
        for s in self.sections:
            rec = self.records.get(s.name, {"state": "pending"})
            t = rec.get("elapsed_s")
            budget = rec.get("budget_s", s.budget)
            note = rec.get("reason", "")
            if rec.get("earlier"):
                note = ("finished in an earlier run. " + note).strip()
            lines.append(
                f"| {s.name} | {rec['state']} | {'' if t is None else f'{t:.1f} s'} | {budget:.0f} s | {note} |"
            )
        for s in self.sections:
            rec = self.records.get(s.name)
            if not rec:
                continue
            for name in rec.get("show", []):
                path = os.path.join(self.work, name)
                if not os.path.exists(path):
                    continue
                with open(path, errors="replace") as f:
                    text = f.read()
                if len(text) > 40000:
                    text = text[:20000] + "\n…\n" + text[-20000:]
                lines += ["", f"## {s.name}: {name}", ""]
                lines += [text.rstrip()] if name.endswith(".md") else ["```", text.rstrip(), "```"]
        if self.left_out:
            lines += ["", "Left out of the bundle (over the size that comes back): " + ", ".join(self.left_out)]
        return "\n".join(lines) + "\n"

    # --- commands ----------------------------------------------------------------------------
    def cmd(self, rec, argv, log, stdout_file=None, env=None, check=True):
        """Runs argv in a process group of its own inside the section's budget, echoing every
        line (prefixed) and keeping it in work/LOG. stdout_file: stdout goes there instead (a
        table), stderr is echoed. Raises Timeout when the budget runs out; returns the rc."""
        remaining = rec["_ends"] - time.monotonic()
        if remaining <= 0:
            raise Timeout()
        started = time.monotonic()
        entry = {"argv": " ".join(shlex.quote(a) for a in argv), "log": log}
        rec.setdefault("commands", []).append(entry)
        self.say(f"$ {entry['argv']}", rec["name"])
        log_path = os.path.join(self.work, log)
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        logf = open(log_path, "w")
        outf = open(os.path.join(self.work, stdout_file), "w") if stdout_file else None
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env.setdefault("PYTHONUNBUFFERED", "1")
        try:
            proc = subprocess.Popen(
                argv,
                stdout=outf if outf else subprocess.PIPE,
                stderr=subprocess.PIPE if outf else subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
                env=full_env,
                start_new_session=True,
            )
        except OSError as e:
            logf.write(f"cannot start: {e}\n")
            logf.close()
            entry.update(rc=127, elapsed_s=0.0)
            self.say(f"cannot start {argv[0]}: {e}", rec["name"])
            return 127
        rec["pgid"] = proc.pid
        self.current = (rec, proc)
        self.write_status("running")
        stream = proc.stderr if outf else proc.stdout

        def pump():
            try:
                for raw in iter(stream.readline, b""):
                    for part in raw.decode(errors="replace").replace("\r", "\n").split("\n"):
                        if part.strip():
                            logf.write(part + "\n")
                            logf.flush()
                            self.say(part, rec["name"])
            except (OSError, ValueError):  # the log closed under a straggler still writing
                pass

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=remaining)
        except subprocess.TimeoutExpired:
            timed_out = True
            self.stop(proc, f"budget of {rec['budget_s']:.0f} s spent", rec["name"])
        reader.join(timeout=2)
        self.current = None
        rec.pop("pgid", None)
        rc = proc.returncode
        entry.update(rc=rc, elapsed_s=round(time.monotonic() - started, 2))
        logf.close()
        if outf:
            outf.close()
        if timed_out:
            entry["timed_out"] = True
            raise Timeout()
        self.say(f"exited {rc} after {entry['elapsed_s']:.1f} s", rec["name"])
        if check and rc != 0 and rec.get("rc") in (None, 0):
            rec["rc"] = rc
        return rc

    def stop(self, proc, why, section):
        """SIGINT to the command's group and descendants (orac stops between benchmarks and
        keeps what it measured), then SIGKILL after the grace period."""
        self.say(f"{why}: interrupting process group {proc.pid}", section)
        pids = descendants(proc.pid)
        signal_all(proc.pid, pids, signal.SIGINT)
        try:
            proc.wait(timeout=self.args.grace)
        except subprocess.TimeoutExpired:
            self.say(f"still running after {self.args.grace:.0f} s: killing", section)
        pids = set(pids) | set(descendants(proc.pid))
        signal_all(proc.pid, pids, signal.SIGKILL)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def on_signal(self, signum, _frame):
        """SIGTERM or SIGINT from outside: stop the running section, write what there is."""
        if self.current:
            rec, proc = self.current
            self.stop(proc, f"signal {signum} from outside", rec["name"])
            rec["state"] = "interrupted"
            rec["reason"] = f"signal {signum} from outside while running"
            rec["rc"] = 128 + signum
            rec["elapsed_s"] = round(time.monotonic() - rec["_start"], 2)
            rec.pop("_ends", None)
            rec.pop("_start", None)
        self.write_bundle("interrupted")
        self.cleanup()
        os._exit(128 + signum)

    def orac_cmd(self, *args):
        return [self.orac, *args]

    def path(self, name):
        return os.path.join(self.work, name)

    # --- the run -----------------------------------------------------------------------------
    def run(self, sections):
        self.sections = sections
        self.load_earlier(sections)
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        deadline = f"{self.deadline:.0f} s" if self.deadline else "none"
        self.say(
            f"orac GPU bring-up: {len(sections)} sections, deadline {deadline}, backend {self.backend}, "
            f"bundle in {self.out}, work in {self.work}"
        )
        for i, s in enumerate(sections):
            head = f"=== [{i + 1}/{len(sections)}] {s.name}"
            if s.name in self.records:
                self.say(f"{head}: finished in an earlier run ({self.records[s.name]['state']}), not run again")
                continue
            budget = self.args.budgets.get(s.name, s.budget)
            left = self.left()
            rec = {"name": s.name, "budget_s": budget, "started_s": round(self.elapsed(), 2)}
            # The preflight always runs: without it nothing else means anything.
            if budget > left and s.name != "preflight":
                if s.elastic_min is not None and left >= s.elastic_min:
                    budget = left
                    rec["budget_s"] = round(budget, 1)
                    rec["note"] = f"budget cut to the {left:.0f} s left"
                else:
                    rec.update(state="skipped", reason=f"its budget ({budget:.0f} s) does not fit in the {max(left, 0):.0f} s left of the deadline")
                    self.records[s.name] = rec
                    self.say(f"{head}: skipped: {rec['reason']}")
                    self.write_bundle("running")
                    continue
            self.say(f"{head} (budget {budget:.0f} s, {'no deadline' if left == float('inf') else f'{left:.0f} s left'}): {s.doc}")
            rec.update(state="running", _start=time.monotonic(), _ends=time.monotonic() + budget)
            self.records[s.name] = rec
            self.write_status("running")
            try:
                s.run(self, rec)
                if rec.get("state") == "running":
                    rec["state"] = "failed" if rec.get("rc") not in (None, 0) else "ok"
                if rec["state"] == "failed" and not rec.get("reason"):
                    bad = [c for c in rec.get("commands", []) if c.get("rc") not in (None, 0)]
                    rec["reason"] = f"exit {rec['rc']}" + (f": {bad[0]['argv']} (log {bad[0]['log']})" if bad else "")
            except Timeout:
                rec["state"] = "timed_out"
                rec["rc"] = 124
                rec["reason"] = (rec.get("reason", "") + f" ran past its budget of {budget:.0f} s and was killed").strip()
            except Exception as e:  # a bug in a section must not cost the others
                rec["state"] = "failed"
                rec["rc"] = rec.get("rc") or 1
                rec["reason"] = f"bring-up error: {type(e).__name__}: {e}"
            rec["elapsed_s"] = round(time.monotonic() - rec.pop("_start"), 2)
            rec.pop("_ends", None)
            self.say(f"=== {s.name}: {rec['state']} in {rec['elapsed_s']:.1f} s" + (f" ({rec['reason']})" if rec.get("reason") else ""))
            self.write_bundle("running")
        state = "finished"
        self.write_bundle(state)
        code = self.exit_code()
        counts = {}
        for rec in self.records.values():
            counts[rec["state"]] = counts.get(rec["state"], 0) + 1
        self.say(
            f"bring-up {state} in {self.elapsed():.0f} s: "
            + ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
            + f"; {self.out}/{{{','.join(OUT_FILES)}}}; exit {code}"
        )
        self.cleanup()
        return code

    def cleanup(self):
        self.console.close()
        if self.own_work and not self.args.keep_work:
            shutil.rmtree(self.work, ignore_errors=True)


# --- the sections --------------------------------------------------------------------------------
def skip(rec, reason):
    rec["state"] = "skipped"
    rec["reason"] = reason


def needs_orac(fn):
    def wrapped(b, rec):
        if not b.orac_runs:
            return skip(rec, "the carried orac does not run here (see preflight)")
        return fn(b, rec)

    return wrapped


def needs_gpu(fn):
    def wrapped(b, rec):
        if b.args.rehearse:
            return skip(rec, "needs the CUDA backend: not rehearsed on the CPU")
        return fn(b, rec)

    return wrapped


def capture(argv, timeout=20):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return p.returncode, (p.stdout + p.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{type(e).__name__}: {e}"


def version_key(v):
    return tuple(int(x) for x in v.split("."))


def sec_preflight(b, rec):
    """Does the carried binary run here? glibc, the binary itself, the driver."""
    pf = b.preflight
    pf["machine"] = os.uname().machine
    rc, text = capture(["getconf", "GNU_LIBC_VERSION"])
    m = re.search(r"(\d+\.\d+)", text or "")
    if not m:
        rc, text = capture(["ldd", "--version"])
        m = re.search(r"(\d+\.\d+)\s*$", (text or "").splitlines()[0] if text else "")
    pf["glibc_host"] = m.group(1) if m else None
    try:
        with open(b.orac, "rb") as f:
            blob = f.read()
        needed = sorted({v.decode() for v in re.findall(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)", blob)}, key=version_key)
        pf["glibc_needed"] = needed[-1] if needed else None
        pf["orac_bytes"] = len(blob)
    except OSError as e:
        pf["glibc_needed"] = None
        pf["orac_error"] = str(e)
    pf["glibc_ok"] = bool(
        pf["glibc_host"] and (pf["glibc_needed"] is None or version_key(pf["glibc_needed"]) <= version_key(pf["glibc_host"]))
    )
    b.say(f"machine {pf['machine']}, glibc {pf['glibc_host']}; orac needs glibc {pf['glibc_needed'] or 'unknown'}", rec["name"])
    rc = b.cmd(rec, b.orac_cmd("--version"), "preflight/orac-version.txt")
    with open(os.path.join(b.work, "preflight/orac-version.txt")) as f:
        pf["orac_version"] = f.read().strip() or None
    b.orac_runs = rc == 0
    if rc != 0:
        rec["reason"] = f"the carried orac does not run here (exit {rc}): {pf['orac_version']}"
        if not pf["glibc_ok"]:
            rec["reason"] += f"; it needs glibc {pf['glibc_needed']}, the host has {pf['glibc_host']}: build on an older glibc"
    if shutil.which("nvidia-smi"):
        b.cmd(rec, ["nvidia-smi"], "preflight/nvidia-smi.txt", check=False)
        q = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total,clocks.max.sm", "--format=csv,noheader"]
        code, text = capture(q)
        pf["gpu"] = text if code == 0 else f"nvidia-smi failed: {text}"
        if code != 0 and not b.args.rehearse and not rec.get("reason"):
            rec["rc"] = code or 1
            rec["reason"] = "nvidia-smi fails: no usable driver"
    else:
        pf["gpu"] = "no nvidia-smi on PATH"
        if not b.args.rehearse and not rec.get("reason"):
            rec["reason"] = "no nvidia-smi on PATH: the CUDA sections will say whether orac finds a GPU"
    rec["show"] = ["preflight/orac-version.txt", "preflight/nvidia-smi.txt"]


@needs_orac
def sec_info(b, rec):
    b.cmd(rec, b.orac_cmd("info", "--backend", b.backend), "info.txt")
    rec["show"] = ["info.txt"]


def selection(b):
    args = ["--profile", b.args.profile]
    if b.args.filter:
        args += ["--filter", b.args.filter]
    return args


@needs_orac
def sec_verify(b, rec):
    b.cmd(rec, b.orac_cmd("verify", "--backend", b.backend, *selection(b)), "verify.txt")
    rec["show"] = ["verify.txt"]


def newest_run(b, suffix=".json"):
    found = []
    for root, _, names in os.walk(os.path.join(b.work, "results")):
        found += [os.path.join(root, n) for n in names if n.endswith(suffix)]
    return max(found, key=os.path.basename) if found else None


def journal_table(path):
    """The finished benchmarks of an interrupted run's journal (a header line, then one
    result per line), as markdown; `orac run --resume` would finish the run."""
    rows, planned = [], "?"
    with open(path, errors="replace") as f:
        for i, line in enumerate(f):
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a torn last line
            if i == 0:
                planned = len(item.get("planned", [])) or "?"
                continue
            median = (item.get("summary") or {}).get("median")
            error = (item.get("error") or "").splitlines()[:1]
            rows.append(f"| {item.get('id')} | {item.get('status')} | {'' if median is None else f'{median:.4g} s'} | {error[0] if error else ''} |")
    head = [f"Interrupted run: {len(rows)} of {planned} benchmarks finished (journal {os.path.basename(path)}).", "",
            "| benchmark | status | median | error |", "|---|---|--:|---|"]
    return "\n".join(head + rows) + "\n"


@needs_orac
def sec_run(b, rec):
    extra = ["--max-time", str(b.args.max_time)] if b.args.max_time else []
    try:
        b.cmd(rec, b.orac_cmd("run", "--backend", b.backend, *selection(b), *extra, "--results-dir", b.path("results")), "run.txt")
    finally:
        # Even a run stopped by its budget has its finished benchmarks in the journal.
        run_file = newest_run(b)
        rec["show"] = ["run.md"]
        journal = newest_run(b, ".journal")
        if not run_file and journal:
            # Stopped before its record was assembled: the journal has every finished one.
            atomic_write(b.path("run-partial.md"), journal_table(journal))
            rec["show"] = ["run-partial.md"]
            rec["journal"] = os.path.relpath(journal, b.work)
        if run_file:
            rec["run_file"] = os.path.relpath(run_file, b.work)
            b.extend(rec, 10)  # the table, even after a timeout
            b.cmd(rec, b.orac_cmd("show", "--format", "markdown", run_file), "logs/show.txt", stdout_file="run.md", check=False)


@needs_orac
def sec_peers(b, rec):
    peer = os.path.join(HERE, "peer")
    code = b.cmd(rec, b.orac_cmd("list", "--backend", b.backend, *selection(b)), "logs/list.txt", stdout_file="ids.txt")
    if code != 0:
        return
    if b.args.rehearse:
        plan = [sys.executable, os.path.join(peer, "torch_peer.py"), b.path("ids.txt"), "--dry-run"]
        b.cmd(rec, plan, "logs/peer-plan.txt", stdout_file="peer-plan.txt")
        rec["show"] = ["peer-plan.txt"]
        rec["reason"] = "rehearsal: the plan only (--dry-run), nothing measured"
        return
    probe = "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"
    code, text = capture([sys.executable, "-c", probe], timeout=max(1, min(60, rec["_ends"] - time.monotonic())))
    b.say(f"PyTorch: {text.splitlines()[-1] if text else code}", rec["name"])
    if code != 0:
        return skip(rec, f"PyTorch is not importable here: {text.splitlines()[-1] if text else code}")
    try:
        measure = [sys.executable, os.path.join(peer, "torch_peer.py"), b.path("ids.txt"), b.path("peer.json")]
        b.cmd(rec, measure, "peer.txt")
    finally:
        # torch_peer.py saves after every case: even a timed-out one has a table to show.
        run_file = newest_run(b)
        rec["show"] = []
        if run_file and os.path.exists(os.path.join(b.work, "peer.json")):
            b.extend(rec, 10)
            check = [sys.executable, os.path.join(peer, "check_peer.py"), run_file, b.path("peer.json")]
            b.cmd(rec, check, "logs/peer-check.txt", stdout_file="peer-check.txt")
            rec["show"] = ["peer-check.txt"]
        elif not run_file:
            rec["reason"] = "no run file to set beside the peers (the run section did not save one)"


def experiments(b, rec, section, env=None):
    script = os.path.join(HERE, "gpu-experiments.sh")
    b.cmd(rec, ["bash", script, b.path("experiments"), b.orac, section], f"{section}.txt", env=env)


@needs_orac
@needs_gpu
def sec_verdicts(b, rec):
    # The experiment's own budget, less what preparing the scratch repository takes.
    budget = max(int(rec["budget_s"]) - 15, 10)
    experiments(b, rec, "verdicts", env={"ORAC_VERDICTS_BUDGET_S": str(budget)})
    rec["show"] = ["experiments/verdicts.txt"]


@needs_orac
@needs_gpu
def sec_emu(b, rec):
    """The emulator against the GPU: the emu shapes and inputs on --backend emu and --backend
    cuda, outputs compared element by element (ci/emu_compare.py); then compute-sanitizer's
    memcheck and racecheck on the same CUDA launches, to set beside the emulator's checks
    (docs/EMULATOR.md). CI already runs the emulator alone."""
    outs = os.path.join(b.work, "emu")
    emu_dir, gpu_dir = os.path.join(outs, "out-emu"), os.path.join(outs, "out-cuda")
    b.cmd(rec, b.orac_cmd("verify", "--backend", "emu", "--out-dir", emu_dir), "emu/verify-emu.txt")
    b.cmd(
        rec,
        b.orac_cmd("verify", "--backend", "cuda", "--profile", "emu", "--out-dir", gpu_dir),
        "emu/verify-cuda.txt",
    )
    b.cmd(rec, [sys.executable, os.path.join(HERE, "emu_compare.py"), emu_dir, gpu_dir], "emu/compare.txt")
    rec["show"] = ["emu/compare.txt"]
    sanitizer = shutil.which("compute-sanitizer") or next(
        (p for p in ("/usr/local/cuda/bin/compute-sanitizer",) if os.path.exists(p)), None
    )
    if not sanitizer:
        rec["note"] = "no compute-sanitizer on PATH or in /usr/local/cuda/bin: memcheck and racecheck not run"
        return
    for tool in ("memcheck", "racecheck"):
        # In this process (no workers), so the sanitizer sees every launch; its findings are
        # the record, not a failure of the section.
        b.cmd(
            rec,
            [sanitizer, "--tool", tool, "--print-limit", "50", *b.orac_cmd(
                "verify", "--backend", "cuda", "--profile", "emu", "--isolation", "none")],
            f"emu/{tool}.txt",
            check=False,
        )
        rec["show"].append(f"emu/{tool}.txt")


# One-tile shapes of three single-launch kernels: a clean tiled GEMM, register blocking with
# its known 2-way float4 conflict, and ldmatrix/cp.async/mma.sync (docs/EMULATOR.md).
NCU_FILTER = "^gemm/(tiled/f32/m32n32k64|regblock/f32/m128n128k64|mma/bf16/m128n128k64)$"
# What ci/ncu_compare.py sets beside the emulator's counts (it owns the list).
sys.path.insert(0, HERE)
NCU_METRICS = importlib.import_module("ncu_compare").METRICS


@needs_orac
@needs_gpu
def sec_counters(b, rec):
    """The emulator's counters beside Nsight Compute's on the same launches: the bank and
    sector models checked against the hardware (ci/ncu_compare.py)."""
    b.cmd(
        rec,
        b.orac_cmd("counters", "--no-save", "--all", "--hotspots", "--filter", NCU_FILTER),
        "emu/counters.log",
        stdout_file="emu/counters.txt",
    )
    rec["show"] = ["emu/counters.txt"]
    ncu = shutil.which("ncu") or next(
        (p for p in ("/usr/local/cuda/bin/ncu",) if os.path.exists(p)), None
    )
    if not ncu:
        rec["note"] = "no ncu on PATH or in /usr/local/cuda/bin: Nsight Compute's side not collected"
        return
    metrics = ",".join(NCU_METRICS)
    # ncu's CSV goes to stdout; the profiled orac's own output is in the log
    b.cmd(
        rec,
        [ncu, "--csv", "--page", "raw", "--metrics", metrics, "--target-processes", "all",
         *b.orac_cmd("verify", "--backend", "cuda", "--profile", "emu", "--isolation", "none",
                     "--filter", NCU_FILTER)],
        "emu/ncu.log",
        stdout_file="emu/ncu.csv",
        check=False,
    )
    b.cmd(
        rec,
        [sys.executable, os.path.join(HERE, "ncu_compare.py"), b.path("emu/counters.txt"), b.path("emu/ncu.csv")],
        "emu/ncu-compare.log",
        stdout_file="emu/ncu-compare.md",
        check=False,
    )
    rec["show"].append("emu/ncu-compare.md")


@needs_orac
@needs_gpu
def sec_kernels(b, rec):
    b.cmd(rec, b.orac_cmd("kernels", "--arch", "sm_90"), "kernels.txt")


@needs_orac
@needs_gpu
def sec_ab(b, rec):
    experiments(b, rec, "ab")
    rec["show"] = ["experiments/summary.txt"]


@needs_orac
@needs_gpu
def sec_faults(b, rec):
    experiments(b, rec, "faults")
    rec["show"] = ["experiments/summary.txt"]


SECTIONS = [
    Section("preflight", 30, "does the carried orac run here (glibc, driver)?", sec_preflight),
    Section("info", 30, "orac info: backend, hardware key, CUDA status", sec_info),
    Section("verify", 120, "every kernel against the f64 reference, no timing", sec_verify),
    Section("run", 180, "the suite, timed and saved", sec_run),
    Section("peers", 90, "PyTorch/Triton on the same shapes, and the vendor check", sec_peers),
    Section("verdicts", 300, "verdict accuracy: A/A and +3% through the gate (ci/gpu-experiments.sh)", sec_verdicts, elastic_min=60),
    Section("emu", 150, "the emulator against the GPU on the emu shapes, and compute-sanitizer", sec_emu),
    Section("counters", 90, "the emulator's counters beside Nsight Compute's on three kernels", sec_counters),
    Section("kernels", 60, "orac kernels --arch sm_90 with this machine's toolkit", sec_kernels),
    Section("ab", 300, "A/A and A/B x3 on a slowed copy kernel (ci/gpu-experiments.sh)", sec_ab, elastic_min=120),
    Section("faults", 120, "an out-of-bounds and a spinning kernel in a real run", sec_faults),
]


def parse(argv):
    p = argparse.ArgumentParser(
        prog="ci/gpu-bringup.sh",
        description=__doc__.split("\n\n")[0],
        epilog="sections, in order: " + ", ".join(f"{s.name} ({s.budget} s)" for s in SECTIONS),
    )
    p.add_argument("--out", default=os.environ.get("OUT") or "gpu-out", help="where the bundle goes (default: $OUT, else ./gpu-out)")
    p.add_argument("--orac", default=os.environ.get("ORAC") or "target/release/orac", help="the orac binary (default: target/release/orac)")
    p.add_argument(
        "--deadline",
        type=float,
        default=float(os.environ.get("ORAC_BRINGUP_DEADLINE_S", 360)),
        help="seconds for all sections (default 360, or $ORAC_BRINGUP_DEADLINE_S; 0: none)",
    )
    p.add_argument("--budget", action="append", default=[], metavar="SECTION=SECS", help="change a section's budget")
    p.add_argument("--sections", help="comma-separated: only these, in this order (preflight always runs first)")
    p.add_argument("--skip", help="comma-separated sections not to run")
    p.add_argument("--redo", type=lambda s: s.split(","), help="comma-separated: run these again though finished earlier")
    p.add_argument("--fresh", action="store_true", help="ignore an earlier status.json in OUT")
    p.add_argument("--resume", metavar="DIR", help="take finished sections from DIR/status.json and DIR/bundle.tar.gz (a copy brought back)")
    p.add_argument("--backend", default="cuda", help="orac's backend (default cuda)")
    p.add_argument("--rehearse", action="store_true", help="the CPU backend, GPU-only sections skipped: a rehearsal")
    p.add_argument("--profile", default="quick", choices=["quick", "full"])
    p.add_argument("--filter", help="only benchmarks matching this regex (verify, run, peers)")
    p.add_argument("--max-time", type=float, help="orac run --max-time")
    p.add_argument("--grace", type=float, default=float(os.environ.get("ORAC_BRINGUP_GRACE_S", 5)), help="seconds between SIGINT and SIGKILL (default 5)")
    p.add_argument("--work", help="keep the raw files here (default: a temporary directory, removed at the end)")
    p.add_argument("--keep-work", action="store_true", help="do not remove the temporary work directory")
    p.add_argument("--list", action="store_true", help="print the sections and their budgets, run nothing")
    args = p.parse_args(argv)
    names = [s.name for s in SECTIONS]
    args.budgets = {}
    for item in args.budget:
        name, _, secs = item.partition("=")
        if name not in names or not secs:
            p.error(f"--budget {item}: want SECTION=SECS with SECTION one of {', '.join(names)}")
        args.budgets[name] = float(secs)
    for opt in ("sections", "skip"):
        val = getattr(args, opt)
        chosen = [n for n in val.split(",") if n] if val else None
        for n in chosen or []:
            if n not in names:
                p.error(f"--{opt}: no section {n!r} (sections: {', '.join(names)})")
        setattr(args, opt, chosen)
    args.orac = os.path.abspath(args.orac)
    return args


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    by_name = {s.name: s for s in SECTIONS}
    chosen = args.sections or [s.name for s in SECTIONS]
    chosen = ["preflight"] + [n for n in chosen if n != "preflight" and n not in (args.skip or [])]
    sections = [by_name[n] for n in chosen]
    if args.list:
        for s in sections:
            budget = args.budgets.get(s.name, s.budget)
            elastic = f", or down to {s.elastic_min} s" if s.elastic_min else ""
            print(f"{s.name:10} {budget:5.0f} s{elastic}  {s.doc}")
        return 0
    return Bringup(args).run(sections)


if __name__ == "__main__":
    sys.exit(main())
