#!/usr/bin/env python3
"""ci/verdicts.py: how often are orac's verdicts right?

Plants calibrated slowdowns (and one speedup) in copies of the CPU kernels inside a scratch
git repository and runs the real `orac ab`, `orac run` + `orac compare`, `orac baseline`
and `orac history` on them. Every finished trial is appended to a JSON-lines state file, so
an interrupted benchmark resumes where it stopped; the Markdown table is printed at the end
(or from the state file alone with --table-only). See ci/verdicts.md.

Exit codes: 0 done (whatever the verdicts), 1 orac failed in a way no verdict explains,
2 bad arguments or state file, 130 interrupted (finished trials are kept).
"""

import argparse
import datetime
import hashlib
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The planted benchmarks rotate over these (quick-profile ids of the CPU backend).
COPY = "memcpy/copy-st/u8/64MiB"
GEMM = "gemm/blocked/f32/m200n136k72"
ATTN = "attention/tiled/f32/b1h4sq256sk256d64"
PLANTED = [COPY, GEMM, ATTN]
SHORT = {COPY: "copy-st", GEMM: "gemm-blocked", ATTN: "attn-tiled"}

# Plant sizes: extra work in thousandths of the kernel's own work. A speedup cannot be
# planted in a kernel that does no spare work, so "-10%" is the +11.1% plant measured the
# other way round (base = planted commit, head = A): 1 / 1.111 = 0.90.
SIZES = {"+3%": (30, False), "+5%": (50, False), "+10%": (100, False), "-10%": (111, True)}
# Extra work per unit of extra time, per planted benchmark: a re-copied prefix of the copy
# is partly served from the last-level cache, so it needs about twice the work for the
# nominal effect (calibrated once on the 2-vCPU VM: 30/1000 and 50/1000 of re-copy gave
# +1.5% and +3.1%). The calibrating A/B still measures the true effect of every plant,
# and the table prints it beside the detection rate.
WORK_PER_EFFECT = {COPY: 2.0, GEMM: 1.0, ATTN: 1.0}
SCENARIOS = ["aa", "lone", "cross", "baseline", "history", "aa-contend", "lone-contend"]
DEFAULT_SCENARIOS = ["aa", "lone", "cross", "baseline", "history"]
FLAGS = ("slower", "faster")


class UsageError(Exception):
    pass


class OracFailure(Exception):
    pass


# --- planting ------------------------------------------------------------------------------

def _after_block(src, anchor, code):
    """Inserts `code` after the brace block that the line `anchor` opens."""
    at = src.find(anchor)
    if at < 0:
        raise UsageError(f"kernel source changed shape (no {anchor.strip()!r}): update ci/verdicts.py")
    i = src.index("{", at)
    depth = 0
    while True:
        if src[i] == "{":
            depth += 1
        elif src[i] == "}":
            depth -= 1
            if depth == 0:
                break
        i += 1
    end = src.index("\n", i) + 1
    return src[:end] + code + src[end:]


def _replace_once(src, old, new):
    if old not in src:
        raise UsageError(f"kernel source changed shape (no {old.strip()!r}): update ci/verdicts.py")
    return src.replace(old, new, 1)


def plant_copy(src, pm):
    # Only the 64 MiB size: the 1 MiB benchmark of the same kernel stays unchanged. Part
    # of the re-copied head is still cached, so the cost is below pm/1000 (WORK_PER_EFFECT).
    return _replace_once(src, "    memcpy(dst, src, n);\n", (
        "    memcpy(dst, src, n);\n"
        f"    if (n == ((size_t)64 << 20)) {{ /* ci/verdicts.py plant: re-copy {pm}/1000 */\n"
        "        void *(*volatile again)(void *, const void *, size_t) = memcpy;\n"
        f"        again(dst, src, n / 1000 * {pm});\n"
        "    }\n"))


def plant_gemm(src, pm):
    # The kernel itself is left as it was compiled (renamed, never inlined: its code, and
    # so every other shape's speed, stays the same); after it, for the planted shape only,
    # the first pm/1000 of the rows of C are computed again, in the same summation order,
    # split over the threads.
    src = _replace_once(src, "void orac_gemm_blocked(",
                        "static __attribute__((noinline)) void orac_gemm_blocked_real(")
    return src + (
        "\nvoid orac_gemm_blocked(const float *restrict A, const float *restrict B,\n"
        "                       float *restrict C, long M, long N, long K) {\n"
        "    orac_gemm_blocked_real(A, B, C, M, N, K);\n"
        "    if (M != 200 || N != 136 || K != 72) return;\n"
        f"    /* ci/verdicts.py plant: {pm}/1000 of the rows are computed twice */\n"
        f"    long rows = (M * {pm} + 500) / 1000;\n"
        "#pragma omp parallel for schedule(static)\n"
        "    for (long i = 0; i < rows; i++) {\n"
        "        float *restrict c = C + i * N;\n"
        "        for (long j = 0; j < N; j++) c[j] = 0.0f;\n"
        "        for (long k = 0; k < K; k++) {\n"
        "            const float a = A[i * K + k];\n"
        "            const float *restrict b = B + k * N;\n"
        "            for (long j = 0; j < N; j++) c[j] += a * b[j];\n"
        "        }\n"
        "    }\n"
        "}\n")


def plant_attn(src, pm):
    # pm/1000 of the (batch, head, query block) tasks, spread evenly, run twice: they write
    # the same output again. Only the non-causal b1h4 256x256 shape.
    old = ("#pragma omp parallel for schedule(dynamic, 1)\n"
           "    for (long task = 0; task < B * H * qblocks; task++) {\n")
    new = ("    long tasks = B * H * qblocks;\n"
           f"    /* ci/verdicts.py plant: {pm}/1000 of the tasks run twice */\n"
           "    long extra = (!causal && B == 1 && H == 4 && Sq == 256 && Sk == 256)\n"
           f"                     ? (tasks * {pm} + 500) / 1000 : 0;\n"
           "#pragma omp parallel for schedule(dynamic, 1)\n"
           "    for (long t = 0; t < tasks + extra; t++) {\n"
           "        long task = t < tasks ? t : (t - tasks) * tasks / extra;\n")
    return _replace_once(src, old, new)


PLANTERS = {COPY: ("copy_st.c", plant_copy), GEMM: ("gemm_blocked.c", plant_gemm),
            ATTN: ("attention_tiled.c", plant_attn)}


def regex_exact(ids):
    def esc(s):
        return "".join("\\" + c if c in "\\.+*?()|[]{}^$" else c for c in s)
    return "^(" + "|".join(esc(i) for i in ids) + ")$"


# --- the scratch repository ------------------------------------------------------------------

class Scratch:
    def __init__(self, keep):
        self.dir = Path(tempfile.mkdtemp(prefix="orac-verdicts-"))
        self.keep = keep
        self.repo = self.dir / "repo"
        self.repo.mkdir()
        shutil.copytree(ROOT / "kernels", self.repo / "kernels")
        self.git("init", "-q")
        self.git("add", "kernels")
        self.git("commit", "-qm", "A: the project's kernels")
        self.git("tag", "A")
        self.git("branch", "-M", "main")
        self.count = 0

    def git(self, *args):
        r = subprocess.run(["git", "-C", str(self.repo), "-c", "user.name=verdicts",
                            "-c", "user.email=verdicts@example.com", *args],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise OracFailure(f"git {' '.join(args)} failed: {r.stderr.strip()}")
        return r.stdout.strip()

    def plant(self, bench, pm, tag=None, parent="A"):
        """A commit on `parent` whose `bench` does pm/1000 more work; returns its tag."""
        tag = tag or f"P-{SHORT[bench]}-{pm}"
        if self.git("tag", "-l", tag):
            return tag
        source, planter = PLANTERS[bench]
        self.git("checkout", "-q", parent)
        path = self.repo / "kernels" / "cpu" / source
        work = round(pm * WORK_PER_EFFECT[bench])
        path.write_text(planter(path.read_text(), work))
        self.git("commit", "-qam", f"{bench}: {work}/1000 more work")
        self.git("tag", tag)
        self.git("checkout", "-q", "main")
        return tag

    def history_branch(self, bench, pm):
        """A linear branch A, a2, a3, P, p2, p3 (empty commits repeat the code)."""
        branch = f"hist-{SHORT[bench]}-{pm}"
        if not self.git("branch", "--list", branch):
            self.git("checkout", "-q", "-b", branch, "A")
            for name in ("a2", "a3"):
                self.git("commit", "-q", "--allow-empty", "-m", name)
            self.plant(bench, pm, tag=f"{branch}-p1", parent=branch)
            self.git("checkout", "-q", branch)
            self.git("merge", "-q", "--ff-only", f"{branch}-p1")
            for name in ("p2", "p3"):
                self.git("commit", "-q", "--allow-empty", "-m", name)
            self.git("checkout", "-q", "main")
        commits = self.git("rev-list", "--first-parent", "--reverse", branch).split()
        return branch, commits[-6:]

    def tmp(self, name):
        self.count += 1
        d = self.dir / f"{self.count:03d}-{name}"
        d.mkdir()
        return d

    def done_with(self, d):
        if not self.keep:
            shutil.rmtree(d, ignore_errors=True)

    def close(self):
        if self.keep:
            print(f"kept {self.dir}", file=sys.stderr)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


# --- running orac ------------------------------------------------------------------------------

class Orac:
    def __init__(self, path, max_time):
        self.path = Path(path)
        self.max_time = max_time
        if not self.path.is_file():
            raise UsageError(f"no orac binary at {self.path} (build it: cargo build --release)")
        self.hash = self.binary_hash()

    def binary_hash(self):
        for _ in range(40):
            try:
                return hashlib.sha256(self.path.read_bytes()).hexdigest()[:16]
            except OSError:
                time.sleep(15)  # being rebuilt
        raise OracFailure(f"cannot read {self.path}")

    def call(self, args, cwd, ok=(0, 1, 3), timeout=7200):
        """Runs orac; retries while the binary is being replaced. Returns (rc, stdout, stderr)."""
        for attempt in range(40):
            try:
                r = subprocess.run([str(self.path), *args], cwd=cwd, capture_output=True,
                                   text=True, timeout=timeout)
            except (FileNotFoundError, PermissionError, OSError) as e:
                if attempt == 39:
                    raise OracFailure(f"cannot start {self.path}: {e}")
                time.sleep(15)
                continue
            except subprocess.TimeoutExpired:
                raise OracFailure(f"orac {' '.join(args)} ran over {timeout} s")
            if r.returncode in ok:
                return r.returncode, r.stdout, r.stderr
            tail = "\n".join(r.stderr.strip().splitlines()[-8:])
            raise OracFailure(f"orac {shlex.join(args)} exited {r.returncode}:\n{tail}")
        raise AssertionError("unreachable")

    def timing(self):
        return ["--max-time", str(self.max_time)] if self.max_time is not None else []

    def hardware_key(self):
        _, out, _ = self.call(["info", "--backend", "cpu"], cwd=ROOT, ok=(0,))
        for line in out.splitlines():
            if line.startswith("hardware key:"):
                return line.split(":", 1)[1].strip()
        raise OracFailure("`orac info` printed no hardware key")


def report_of(rc, path, what):
    """The JSON report, checked: exit 3 must come with a `failed` verdict."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise OracFailure(f"{what} exited {rc} without a readable JSON report ({e})")
    entries = [e for e in report.get("entries", []) if isinstance(e, dict) and "id" in e]
    if rc == 3 and not any(verdict(e) == "failed" for e in entries):
        raise OracFailure(f"{what} exited 3 but no benchmark has the verdict `failed`")
    return entries


def verdict(entry):
    v = entry.get("verdict")
    if isinstance(v, dict):  # tolerate a richer shape
        v = v.get("kind") or v.get("verdict")
    return str(v).lower()


def summarize(entries, planted=None, expected=None):
    counts = {}
    for e in entries:
        counts[verdict(e)] = counts.get(verdict(e), 0) + 1
    others = [e for e in entries if e["id"] != planted]
    res = {
        "comparisons": len(others),
        "false_flags": sum(verdict(e) in FLAGS for e in others),
        "false_flag_ids": [f"{e['id']}={verdict(e)}" for e in others if verdict(e) in FLAGS],
        "verdicts": counts,
    }
    if planted is not None:
        mine = [e for e in entries if e["id"] == planted]
        if not mine:
            raise OracFailure(f"the report has no entry for the planted {planted}")
        e = mine[0]
        res.update(planted_verdict=verdict(e), planted_ratio=e.get("ratio"),
                   planted_ci=[e.get("ci_low"), e.get("ci_high")],
                   planted_min_detectable=e.get("min_detectable"),
                   detected=verdict(e) == expected)
    return res


# --- contention ----------------------------------------------------------------------------------

class Contention:
    """A busy-looping child pinned to CPU 0, for the duration of a `with`."""

    def __enter__(self):
        self.child = subprocess.Popen(
            [sys.executable, "-c", "import os\nos.sched_setaffinity(0, {0})\nwhile True:\n    pass\n"])
        return self

    def __exit__(self, *exc):
        self.child.kill()
        self.child.wait()


# --- scenarios --------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args, orac, hw, state):
        self.args, self.orac, self.hw, self.state = args, orac, hw, state
        self._scratch = None
        self.argv = shlex.join(["python3"] + sys.argv)

    @property
    def scratch(self):
        if self._scratch is None:
            self._scratch = Scratch(self.args.keep)
        return self._scratch

    # -- helpers
    def ab(self, base, head, ids=None, max_time=None):
        out = self.scratch.tmp("ab") / "ab.json"
        args = ["ab", "--backend", "cpu", "--repo", str(self.scratch.repo), "--base", base,
                "--head", head, "--json-out", str(out), "--format", "json"]
        if ids:
            args += ["--filter", regex_exact(ids)]
        args += ["--max-time", str(max_time)] if max_time is not None else self.orac.timing()
        rc, _, _ = self.orac.call(args, cwd=self.scratch.repo)
        entries = report_of(rc, out, "orac ab")
        self.scratch.done_with(out.parent)
        return rc, entries

    def run(self, rev, results, ids=None):
        """`orac run` of the kernels at `rev`, from a checkout (so the run records the commit)."""
        self.scratch.git("checkout", "-q", rev)
        args = ["run", "--backend", "cpu", "--kernels", "kernels", "--results-dir", str(results),
                *self.orac.timing()]
        if ids:
            args += ["--filter", regex_exact(ids)]
        try:
            rc, _, _ = self.orac.call(args, cwd=self.scratch.repo, ok=(0, 3))
        finally:
            self.scratch.git("checkout", "-q", "main")
        return rc

    def compare(self, base, head, extra=()):
        out = self.scratch.tmp("compare") / "compare.json"
        args = ["compare", base, head, "--json-out", str(out), "--format", "json", *extra]
        rc, _, _ = self.orac.call(args, cwd=self.scratch.repo)
        entries = report_of(rc, out, "orac compare")
        self.scratch.done_with(out.parent)
        return rc, entries

    def calibration(self, bench, size):
        key = f"{self.orac.hash}|{self.hw}|{bench}|{size}|{self.args.calibrate_time}"
        known = self.state.calibrations.get(key)
        if known and isinstance(known.get("ratio"), (int, float)):
            return known
        pm, reverse = SIZES[size]
        tag = self.scratch.plant(bench, pm)
        base, head = (tag, "A") if reverse else ("A", tag)
        start = time.time()
        for _ in range(2):  # once more when orac gave no ratio (contended, throttled…)
            rc, entries = self.ab(base, head, [bench], max_time=self.args.calibrate_time)
            e = summarize(entries, bench, None)
            if isinstance(e["planted_ratio"], (int, float)):
                break
        rec = {"type": "calibration", "key": key, "orac_hash": self.orac.hash,
               "hardware_key": self.hw, "planted": bench, "size": size,
               "calibrate_time": self.args.calibrate_time, "ratio": e["planted_ratio"],
               "ci": e["planted_ci"], "verdict": e["planted_verdict"],
               "minutes": (time.time() - start) / 60, "at": now()}
        self.state.append(rec)
        return rec

    # -- trials: each returns the scenario-specific fields of its record
    def t_aa(self, trial, variant):
        rc, entries = self.ab("A", "A")
        return {"exit_code": rc, "gate_failed": rc != 0, **summarize(entries)}

    def t_lone(self, trial, variant, planted):
        size, mode = variant.split(" ", 1)
        pm, reverse = SIZES[size]
        cal = self.calibration(planted, size)
        tag = self.scratch.plant(planted, pm)
        base, head = (tag, "A") if reverse else ("A", tag)
        rc, entries = self.ab(base, head, [planted] if mode == "--filter" else None)
        expected = "faster" if reverse else "slower"
        return {"exit_code": rc, "gate_failed": rc != 0, "size": size, "filter": mode == "--filter",
                "planted": planted, "expected": expected, "calibrated": calibrated(cal),
                **summarize(entries, planted, expected)}

    def t_cross(self, trial, variant):
        d = self.scratch.tmp("cross")
        files = []
        for i in (1, 2):
            self.run("A", d / f"r{i}")
            files += sorted(str(p) for p in (d / f"r{i}").rglob("*.json"))
        if len(files) != 2:
            raise OracFailure(f"expected two run files, found {len(files)} under {d}")
        rc, entries = self.compare(files[0], files[1])
        self.scratch.done_with(d)
        return {"exit_code": rc, "gate_failed": rc != 0, **summarize(entries)}

    def t_baseline(self, trial, variant, planted):
        cal = self.calibration(planted, "+10%")
        tag = self.scratch.plant(planted, SIZES["+10%"][0])
        d = self.scratch.tmp("baseline")
        for _ in range(5):
            self.run("A", d / "base-runs")
        for _ in range(3):
            self.run(tag, d / "head-runs")
        self.orac.call(["baseline", "set", str(d / "base-runs" / self.hw),
                        "--baselines-dir", str(d / "baselines")], cwd=self.scratch.repo, ok=(0,))
        rc, entries = self.compare("baseline", str(d / "head-runs" / self.hw),
                                   ["--baselines-dir", str(d / "baselines")])
        self.scratch.done_with(d)
        return {"exit_code": rc, "gate_failed": rc != 0, "size": "+10%", "planted": planted,
                "expected": "slower", "calibrated": calibrated(cal),
                **summarize(entries, planted, "slower")}

    def t_history(self, trial, variant, planted):
        cal = self.calibration(planted, "+10%")
        branch, commits = self.scratch.history_branch(planted, SIZES["+10%"][0])
        d = self.scratch.tmp("history")
        for c in commits:
            self.run(c, d / "results", PLANTED)
        _, out, _ = self.orac.call(["history", "--results-dir", str(d / "results"), "--branch", branch,
                                    "--filter", regex_exact(PLANTED), "--format", "json"],
                                   cwd=self.scratch.repo, ok=(0,))
        try:
            series = json.loads(out).get("series", [])
        except ValueError as e:
            raise OracFailure(f"orac history printed no JSON ({e})")
        found, false, seen = [], 0, set()
        for s in series:
            seen.add(s.get("id"))
            cps = s.get("change_points", [])
            if s.get("id") == planted:
                found = cps
            else:
                false += len(cps) + len(s.get("creep", []))
        if planted not in seen:
            raise OracFailure(f"orac history has no series for {planted}")
        hit = [c for c in found if str(c.get("commit", "")).startswith(commits[3][:7])
               and c.get("direction") == "slower"]
        detected = len(found) == 1 and len(hit) == 1
        false += len(found) - len(hit)
        v = "slower at P" if detected else (f"{len(found)} change points" if found else "none")
        return {"exit_code": 0, "gate_failed": False, "size": "+10%", "planted": planted,
                "expected": "slower at P", "calibrated": calibrated(cal), "planted_verdict": v,
                "planted_ratio": (1 + hit[0]["change"]) if hit and "change" in hit[0] else None,
                "detected": detected, "comparisons": len(series) - 1, "false_flags": false,
                "verdicts": {}}

    def variants(self, scenario):
        return variants(scenario)

    def plan(self):
        """(scenario, variant, trial, planted) in round-robin order: trial 0 of all first."""
        out = []
        for trial in range(self.args.trials):
            n = 0
            for scenario in self.args.scenarios:
                for variant in self.variants(scenario):
                    base = scenario.replace("-contend", "")
                    planted = PLANTED[(trial + n) % len(PLANTED)] if base in (
                        "lone", "baseline", "history") else None
                    n += 1
                    out.append((scenario, variant, trial, planted))
        return out

    def go(self):
        start = time.time()
        todo = self.plan()
        done = skipped = 0
        self.state.append({"type": "session", "phase": "start", "argv": self.argv, "at": now(),
                           "load": os.getloadavg(), "nproc": os.cpu_count(),
                           "orac_hash": self.orac.hash, "hardware_key": self.hw})
        try:
            for scenario, variant, trial, planted in todo:
                key = "|".join([self.orac.hash, self.hw, scenario, variant, str(trial),
                                str(self.args.max_time)])
                if key in self.state.trials:
                    skipped += 1
                    continue
                spent = (time.time() - start) / 60
                if self.args.budget_minutes is not None and spent >= self.args.budget_minutes:
                    print(f"budget of {self.args.budget_minutes} min spent: {len(todo) - done - skipped}"
                          " trials left for the next run", file=sys.stderr)
                    break
                new_hash = self.orac.binary_hash()
                if new_hash != self.orac.hash:
                    print(f"warning: {self.orac.path} changed ({self.orac.hash} -> {new_hash});"
                          " later trials are recorded under the new hash", file=sys.stderr)
                    self.orac.hash = new_hash
                    key = "|".join([new_hash] + key.split("|")[1:])
                    if key in self.state.trials:
                        skipped += 1
                        continue
                print(f"[{done + skipped + 1}/{len(todo)}] {scenario} {variant} trial {trial}"
                      + (f" planted {planted}" if planted else ""), file=sys.stderr, flush=True)
                load_before = os.getloadavg()[0]
                t0 = time.time()
                fn = getattr(self, "t_" + scenario.replace("-contend", ""))
                fargs = (trial, variant) + ((planted,) if planted else ())
                if scenario.endswith("-contend"):
                    with Contention():
                        fields = fn(*fargs)
                else:
                    fields = fn(*fargs)
                rec = {"type": "trial", "key": key, "orac_hash": self.orac.hash,
                       "hardware_key": self.hw, "scenario": scenario, "variant": variant,
                       "trial": trial, "max_time": self.args.max_time,
                       "minutes": (time.time() - t0) / 60, "load_before": load_before,
                       "load_after": os.getloadavg()[0], "nproc": os.cpu_count(),
                       "argv": self.argv, "at": now(), **fields}
                self.state.append(rec)
                done += 1
        finally:
            self.state.append({"type": "session", "phase": "end", "argv": self.argv, "at": now(),
                               "orac_hash": self.orac.hash, "hardware_key": self.hw,
                               "load": os.getloadavg(), "nproc": os.cpu_count(),
                               "trials_run": done, "trials_skipped": skipped,
                               "minutes": (time.time() - start) / 60})
            if self._scratch is not None:
                self._scratch.close()
        print(f"{done} trials run, {skipped} already in {self.state.path}", file=sys.stderr)


def variants(scenario):
    base = scenario.replace("-contend", "")
    if base == "lone":
        return [f"{s} {m}" for s in SIZES for m in ("suite", "--filter")]
    return {"aa": ["full suite"], "cross": ["run vs run"],
            "baseline": ["+10% vs 5-run baseline"], "history": ["+10% at commit 4 of 6"]}.get(base, [])


def calibrated(cal):
    return {"ratio": cal.get("ratio"), "ci": cal.get("ci"), "calibrate_time": cal.get("calibrate_time")}


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- state ------------------------------------------------------------------------------------------

class State:
    def __init__(self, path, fresh):
        self.path = Path(path)
        self.records, self.trials, self.calibrations = [], {}, {}
        if fresh and self.path.exists():
            self.path.unlink()
        if self.path.exists():
            text = self.path.read_text().splitlines()
            for n, line in enumerate(text, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    if n == len(text):
                        continue  # a line cut short by a crash: that trial runs again
                    raise UsageError(f"{self.path}:{n}: not a JSON line")
                self._index(rec)

    def _index(self, rec):
        if not isinstance(rec, dict):
            return
        self.records.append(rec)
        kind = rec.get("type", "trial")
        if kind == "trial" and "scenario" in rec:
            self.trials[rec.get("key") or id(rec)] = rec
        elif kind == "calibration" and rec.get("key"):
            self.calibrations[rec["key"]] = rec

    def append(self, rec):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._index(rec)


# --- the table ----------------------------------------------------------------------------------------

def pct(ratio):
    return "—" if ratio is None else f"{(ratio - 1) * 100:+.1f}%"


def fmt_min(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}"


def table(state):
    trials = list(state.trials.values())
    cals = list(state.calibrations.values())
    sessions = [r for r in state.records if r.get("type") == "session"]
    if not trials and not cals:
        return f"No trials recorded in {state.path} yet.\n"
    lines = []
    # One table per hardware key and orac binary (newest binary first): results of
    # different binaries (statistics being changed) are never pooled.
    groups_hw = {}
    for r in trials + cals:
        g = groups_hw.setdefault((r.get("hardware_key", "?"), r.get("orac_hash", "?")), [])
        g.append(str(r.get("at", "")))
    keys = sorted(groups_hw, key=lambda k: (k[0], [-ord(c) for c in max(groups_hw[k])]))
    for hw, binary in keys:
        mine = [t for t in trials if (t.get("hardware_key", "?"), t.get("orac_hash", "?")) == (hw, binary)]
        lines += [f"### Verdict accuracy on `{hw}`", ""]
        times = sorted({"orac's default" if t.get("max_time") is None else f"{t['max_time']} s"
                        for t in mine})
        lines += [f"orac binary {binary} · --max-time {', '.join(times) or '—'}", ""]
        lines += ["| scenario | variant | trials | false flags / comparisons | gates failed "
                  "| detected | planted verdicts | planted Δ (median) | calibrated true effect "
                  "| median min/trial | total min |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        order = {s: i for i, s in enumerate(SCENARIOS)}
        groups = {}
        for t in mine:
            groups.setdefault((t["scenario"], t.get("variant", "")), []).append(t)

        def sort_key(k):
            scen, var = k
            known = variants(scen)
            return (order.get(scen, 99), known.index(var) if var in known else len(known), var)

        for scen, var in sorted(groups, key=sort_key):
            g = groups[(scen, var)]
            n = len(g)
            comps = sum(int(t.get("comparisons") or 0) for t in g)
            flags = sum(int(t.get("false_flags") or 0) for t in g)
            ff = f"{flags}/{comps}" + (f" ({flags / comps:.1%})" if comps else "")
            gates = sum(bool(t.get("gate_failed")) for t in g)
            planted = [t for t in g if t.get("planted")]
            if planted:
                det = sum(bool(t.get("detected")) for t in planted)
                detected = f"{det}/{len(planted)} ({det / len(planted):.0%})"
                vc = {}
                for t in planted:
                    v = str(t.get("planted_verdict"))
                    vc[v] = vc.get(v, 0) + 1
                pv = ", ".join(f"{v} {c}" for v, c in sorted(vc.items(), key=lambda x: -x[1]))
                mdcs = [t["planted_min_detectable"] for t in planted
                        if isinstance(t.get("planted_min_detectable"), (int, float))]
                if mdcs:  # what an inconclusive verdict could have detected
                    pv += f" (min. detectable {statistics.median(mdcs):.0%})"
                ratios = [t["planted_ratio"] for t in planted if isinstance(t.get("planted_ratio"), (int, float))]
                delta = pct(statistics.median(ratios)) if ratios else "—"
                cal = {}
                for t in planted:
                    r = (t.get("calibrated") or {}).get("ratio")
                    if isinstance(r, (int, float)):
                        cal[SHORT.get(t["planted"], t["planted"])] = pct(r)
                true = " · ".join(f"{b} {r}" for b, r in sorted(cal.items())) or "—"
            else:
                detected = pv = delta = true = "—"
            mins = [float(t.get("minutes") or 0) for t in g]
            lines.append(f"| {scen} | {var} | {n} | {ff} | {gates}/{n} | {detected} | {pv} | {delta} "
                         f"| {true} | {fmt_min(statistics.median(mins))} | {fmt_min(sum(mins))} |")
        mycals = [c for c in cals if (c.get("hardware_key", "?"), c.get("orac_hash", "?")) == (hw, binary)]
        if mycals:
            lines += ["", "Calibration (a long `orac ab --filter` of A against each planted commit):", "",
                      "| planted benchmark | plant | true effect | 95% CI | verdict | --max-time | min |",
                      "|---|---|---|---|---|---|---|"]
            for c in sorted(mycals, key=lambda c: (PLANTED.index(c["planted"]) if c.get("planted") in PLANTED else 9,
                                                   list(SIZES).index(c["size"]) if c.get("size") in SIZES else 9)):
                ci = c.get("ci") or [None, None]
                lines.append(f"| {c.get('planted')} | {c.get('size')} | {pct(c.get('ratio'))} "
                             f"| {pct(ci[0])} … {pct(ci[1])} | {c.get('verdict')} "
                             f"| {c.get('calibrate_time')} | {fmt_min(float(c.get('minutes') or 0))} |")
        total = sum(float(t.get("minutes") or 0) for t in mine) + \
            sum(float(c.get("minutes") or 0) for c in mycals)
        lb = [t["load_before"] for t in mine if isinstance(t.get("load_before"), (int, float))]
        la = [t["load_after"] for t in mine if isinstance(t.get("load_after"), (int, float))]
        nproc = sorted({t.get("nproc") for t in mine if t.get("nproc")})
        lines += ["", f"Total cost: {fmt_min(total)} min ({len(mine)} trials, {len(mycals)} calibrations)."]
        if lb:
            lines.append(f"Machine load (1-min load average): before trials {min(lb):.2f}–{max(lb):.2f}, "
                         f"after {min(la):.2f}–{max(la):.2f}; nproc {', '.join(map(str, nproc))}.")
        else:
            lines.append("Machine load: not recorded.")
        argvs = []
        for r in sessions + mine:
            a = r.get("argv")
            if a and a not in argvs and r.get("hardware_key", hw) == hw and r.get("orac_hash", binary) == binary:
                argvs.append(a)
        if argvs:
            lines += ["", "Command line(s):", ""] + [f"    {a}" for a in argvs]
        lines.append("")
    starts = [s for s in sessions if s.get("phase") == "start"]
    ends = [s for s in sessions if s.get("phase") == "end"]
    if starts and ends:
        lines.append(f"Last session: load {fmt_load(starts[-1].get('load'))} at start, "
                     f"{fmt_load(ends[-1].get('load'))} at end, nproc {ends[-1].get('nproc')}.")
        lines.append("")
    return "\n".join(lines)


def fmt_load(load):
    return "/".join(f"{x:.2f}" for x in load) if load else "?"


# --- main ------------------------------------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def parse(argv):
    p = Parser(prog="ci/verdicts.py", description=(
        "Verdict-accuracy benchmark: plants slowdowns in copies of the CPU kernels in a scratch "
        "git repository and counts how often `orac ab`, `orac compare` and `orac history` get "
        "them (and identical code) right. Resumable; see ci/verdicts.md."),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=("scenarios: aa (A/A, whole suite), lone (one planted change: +3%%, +5%%, +10%%, -10%%, "
                "with and without --filter), cross (two `orac run`s of A compared), baseline "
                "(5 runs of A as baseline vs 3 runs of +10%%), history (A,A,A,P,P,P on a branch), "
                "aa-contend / lone-contend (with a busy core; also added by --contend).\n"
                "exit codes: 0 done, 1 orac failed (not explained by a verdict), 2 usage, 130 interrupted"))
    p.add_argument("--orac", default=str(ROOT / "target/release/orac"), help="orac binary (default: %(default)s)")
    p.add_argument("--trials", type=int, default=3, help="trials per scenario variant (default: %(default)s)")
    p.add_argument("--scenarios", default=",".join(DEFAULT_SCENARIOS),
                   help="comma-separated subset of: " + ", ".join(SCENARIOS) + " (default: %(default)s)")
    p.add_argument("--max-time", type=float, default=None, metavar="SECS",
                   help="--max-time passed to orac ab/run (default: orac's own)")
    p.add_argument("--calibrate-time", type=float, default=10.0, metavar="SECS",
                   help="--max-time of the calibrating A/B of each plant (default: %(default)s)")
    p.add_argument("--state", default=str(ROOT / "target/verdicts/state.jsonl"),
                   help="JSON-lines file of finished trials (default: %(default)s)")
    p.add_argument("--fresh", action="store_true", help="forget the state file and start over")
    p.add_argument("--table-only", action="store_true", help="print the table from the state file; run nothing")
    p.add_argument("--contend", action="store_true",
                   help="also run aa and lone with a busy-looping process pinned to CPU 0")
    p.add_argument("--no-history", action="store_true", help="skip the history scenario")
    p.add_argument("--budget-minutes", type=float, default=None,
                   help="start no new trial after this many minutes")
    p.add_argument("--keep", action="store_true", help="keep the scratch repository and reports")
    a = p.parse_args(argv)
    scen = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    bad = [s for s in scen if s not in SCENARIOS]
    if bad or not scen:
        p.error(f"unknown scenario(s) {', '.join(bad) or '(none)'}; pick from {', '.join(SCENARIOS)}")
    if a.contend:
        scen += [s + "-contend" for s in ("aa", "lone") if s in scen and s + "-contend" not in scen]
    if a.no_history:
        scen = [s for s in scen if s != "history"]
    a.scenarios = sorted(dict.fromkeys(scen), key=SCENARIOS.index)
    if a.trials < 1:
        p.error("--trials must be at least 1")
    for name in ("max_time", "calibrate_time", "budget_minutes"):
        v = getattr(a, name)
        if v is not None and v <= 0:
            p.error(f"--{name.replace('_', '-')} must be positive")
    return a


def main(argv):
    args = parse(argv)
    try:
        state = State(args.state, args.fresh and not args.table_only)
        if args.table_only:
            if not Path(args.state).exists():
                raise UsageError(f"no state file at {args.state}")
            print(table(state))
            return 0
        orac = Orac(args.orac, args.max_time)
        hw = orac.hardware_key()
        print(f"orac {orac.hash} on {hw}; state {state.path}; scenarios {','.join(args.scenarios)}",
              file=sys.stderr)
        try:
            Bench(args, orac, hw, state).go()
        except KeyboardInterrupt:
            print("interrupted: finished trials are in the state file; rerun to resume", file=sys.stderr)
            print(table(state))
            return 130
        print(table(state))
        return 0
    except UsageError as e:
        print(f"verdicts.py: {e}", file=sys.stderr)
        return 2
    except OracFailure as e:
        print(f"verdicts.py: orac failure: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
