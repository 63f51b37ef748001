"""`make faults`: the fault campaign, offline, through the real entry points.

1. The matrix: the demo world, and its healthy portal, feed, MP and Weibo accounts again behind every
   fault of faults/server.py (entry and deep), crawled by every spider at once, then `scrapy detect`.
   Every finding must be one the demo oracle planted or the fault justifies (faults/targets.py).
2. Secrets: article links on another origin, a cross-domain redirect and an SSO login quoting the MP
   list URL; the token must reach no Referer, no stored row and no log line.
3. kill -9 in the middle of a crawl: the next run marks it aborted, the file stays sound.
4. Concurrent runs: the same spider twice and `scrapy detect`, started together.
5. Fuzz: the importer on mutated registry files (in process, and some through `scrapy import-targets`),
   and every parser of faults/parsers.py on mutated saved pages.

It ends with one line each: faults tried, runs survived, false findings, peak RSS per spider, fuzz
calls, exceptions escaped (and secrets leaked); it exits 1 when any of those is wrong.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from core.clock import parse_iso
from crawler.targets import read_targets_file
from demo.http import serve_in_thread
from demo.server import build_server
from demo.wechat import DEMO_COOKIE, DEMO_TOKEN
from demo.world import World
from faults.fuzz import fuzz
from faults.mutate import mutate_bytes, random_ops
from faults.server import FaultWorld
from faults.targets import Planted, all_stages, campaign_targets

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AS_OF = "2026-06-30T12:00:00+08:00"
SPIDERS = ("feed", "portal", "wechat", "weibo", "probe")
SECRET_VALUES = (DEMO_TOKEN, DEMO_COOKIE.split("slave_sid=")[1])


@dataclass
class Run:
    name: str
    returncode: int
    seconds: float
    maxrss_mb: float
    log: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class Report:
    faults_tried: int = 0
    runs: list[Run] = field(default_factory=list)
    expected_failures: int = 0  # runs killed on purpose
    false_findings: list[str] = field(default_factory=list)
    secrets_leaked: list[str] = field(default_factory=list)
    fuzz_calls: int = 0
    escaped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Campaign:
    def __init__(self, out: Path, *, fuzz_calls: int) -> None:
        self.out, self.fuzz_calls = out, fuzz_calls
        self.db = out / "monitor.db"
        self.logs = out / "logs"
        self.report = Report()
        self.world = World(as_of=parse_iso(AS_OF))
        self.server = build_server(self.world, "127.0.0.1", 0)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.faults = FaultWorld(self.world, all_stages())
        self.planted: list[Planted] = []

    # --- processes ------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "MONITOR_DB": str(self.db),
            "MONITOR_LOCAL_WORLD": "1",
            "MONITOR_AS_OF": AS_OF,
            "MONITOR_WECHAT_TOKEN": DEMO_TOKEN,
            "MONITOR_WECHAT_COOKIE": DEMO_COOKIE,
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def start(self, name: str, *args: str) -> tuple[str, subprocess.Popen[bytes], float, Path]:
        log = self.logs / f"{name}.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                [str(BIN / "scrapy"), *args], cwd=ROOT, env=self.env(), stdout=fh, stderr=fh
            )
        return name, proc, time.monotonic(), log

    def finish(self, started: tuple[str, subprocess.Popen[bytes], float, Path], *, count: bool = True) -> Run:
        name, proc, t0, log = started
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        run = Run(name, proc.returncode, time.monotonic() - t0, usage.ru_maxrss / 1024, log)
        if count:
            self.report.runs.append(run)
        return run

    def run(self, name: str, *args: str) -> Run:
        return self.finish(self.start(name, *args))

    # --- stages ---------------------------------------------------------------------------------

    def setup(self) -> None:
        shutil.rmtree(self.out, ignore_errors=True)
        self.logs.mkdir(parents=True)
        self.server.handle_error = lambda *args: None  # type: ignore[method-assign]
        serve_in_thread(self.server)
        self.faults.start()
        rows, self.planted = campaign_targets(self.world, self.base, self.faults)
        path = self.out / "targets.yaml"
        path.write_text(
            yaml.safe_dump({"targets": rows}, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        run = self.run("import-targets", "import-targets", str(path))
        if not run.ok:
            raise SystemExit(f"import failed: {run.log.read_text(errors='replace')[-2000:]}")

    def matrix(self) -> dict[str, Run]:
        started = [self.start(s, "crawl", s) for s in SPIDERS]
        runs = {s[0]: self.finish(s) for s in started}
        self.run("detect", "detect")
        tried = sum(1 for stage in self.faults.stages if stage.hits)
        self.report.faults_tried += tried
        self.report.notes.append(f"fault stages answered: {tried} of {len(self.faults.stages)}")
        for stage in self.faults.stages:
            if not stage.hits:
                self.report.notes.append(f"  stage never hit: {stage.name}")
        return runs

    def open_findings(self) -> dict[tuple[str, str], set[str]]:
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute(
                "SELECT t.name, t.platform, f.rule FROM findings f JOIN targets t ON t.id = f.target_id "
                "WHERE f.resolved_at IS NULL"
            ).fetchall()
        out: dict[tuple[str, str], set[str]] = {}
        for name, platform, rule in rows:
            out.setdefault((name, platform), set()).add(rule)
        return out

    def count_false_findings(self, when: str) -> None:
        found = self.open_findings()
        for p in self.planted:
            for rule in sorted(found.get((p.name, p.platform), set()) - p.allowed):
                self.report.false_findings.append(
                    f"{when}: {p.name} ({p.platform}, {p.stage or 'demo'}): {rule}"
                )

    def check_secrets(self) -> None:
        self.report.faults_tried += 2  # article links on another origin + cross-domain redirect; SSO login
        for path, headers in self.faults.collector.seen:
            for secret in SECRET_VALUES:
                if secret in path or secret in headers:
                    self.report.secrets_leaked.append(f"collector got {secret[:4]}… in {path} | {headers}")
        if not self.faults.collector.seen:
            self.report.notes.append("the collector saw no request: the secret scenario did not run")
        with sqlite3.connect(self.db) as conn:
            dump = "\n".join(conn.iterdump())
        for secret in SECRET_VALUES:
            if secret in dump:
                self.report.secrets_leaked.append(f"database holds {secret[:4]}…")
        for log in self.logs.glob("*.log"):
            text = log.read_text(errors="replace")
            for secret in SECRET_VALUES:
                if secret in text:
                    self.report.secrets_leaked.append(f"{log.name} holds {secret[:4]}…")
        with sqlite3.connect(self.db) as conn:
            sso = conn.execute(
                "SELECT c.outcome, c.final_url FROM checks c JOIN targets t ON t.id = c.target_id "
                "WHERE t.name LIKE '%secret-sso' AND c.kind = 'api'"
            ).fetchall()
        self.report.notes.append(f"SSO redirect stored as: {sso[:1]}")

    def kill_mid_crawl(self) -> None:
        """kill -9 a portal crawl once it has written, then crawl again: aborted, intact, no finding."""
        self.report.faults_tried += 1
        started = self.start("portal-killed", "crawl", "portal")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and started[1].poll() is None:
            time.sleep(0.5)
            if self.rows_of_running_run() > 20:
                break
        if started[1].poll() is None:
            started[1].send_signal(signal.SIGKILL)
        killed = self.finish(started, count=False)
        self.report.expected_failures += 1
        after = self.run("portal-after-kill", "crawl", "portal")
        with sqlite3.connect(self.db) as conn:
            status = conn.execute(
                "SELECT status FROM runs WHERE spider = 'portal' ORDER BY id DESC LIMIT 1 OFFSET 1"
            ).fetchone()
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        sound = killed.returncode != 0 and status == ("aborted",) and integrity == "ok" and after.ok
        self.report.runs.append(
            Run("portal (kill -9, then again)", 0 if sound else 1, killed.seconds, 0, killed.log)
        )
        self.report.notes.append(f"killed run: status {status}, integrity {integrity}")
        self.run("detect-after-kill", "detect")
        self.count_false_findings("after kill -9")

    def rows_of_running_run(self) -> int:
        try:
            with sqlite3.connect(self.db, timeout=1) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM checks WHERE run_id = "
                    "(SELECT max(id) FROM runs WHERE spider = 'portal' AND status = 'running')"
                ).fetchone()
        except sqlite3.Error:
            return 0
        return int(row[0]) if row else 0

    def concurrent(self) -> None:
        """The same spider twice and detection, together: all exit 0, one crawl skips."""
        self.report.faults_tried += 1
        with sqlite3.connect(self.db) as conn:
            before = conn.execute("SELECT count(*) FROM runs WHERE spider = 'feed'").fetchone()[0]
        started = [self.start("feed-a", "crawl", "feed"), self.start("feed-b", "crawl", "feed")]
        started.append(self.start("detect-concurrent", "detect"))
        for s in started:
            self.finish(s)
        with sqlite3.connect(self.db) as conn:
            after = conn.execute("SELECT count(*) FROM runs WHERE spider = 'feed'").fetchone()[0]
        self.report.notes.append(f"two feed crawls at once: {after - before} ran (the other skipped)")
        self.run("detect-final", "detect")
        self.count_false_findings("after concurrent runs")

    def fuzz_importer(self, files: int, through_command: int) -> None:
        self.report.faults_tried += 1
        rng = random.Random(5)
        seeds = [
            (ROOT / "targets" / "demo.yaml").read_bytes(),
            (ROOT / "targets" / "example.yaml").read_bytes(),
            (ROOT / "targets" / "example.csv").read_bytes(),
            (ROOT / "targets" / "example.csv").read_text(encoding="utf-8").encode("gb18030"),
            (ROOT / "targets" / "example.csv")
            .read_text(encoding="utf-8")
            .replace(",", "\t")
            .encode("utf-16"),
            b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
            b"targets:\n- {platform: portal, name: x, url: 'http://127.0.0.1:9/', options: {x: *f}}\n",
        ]
        suffixes = (".yaml", ".yaml", ".csv", ".csv", ".csv", ".yaml")
        folder = self.out / "importer-fuzz"
        folder.mkdir()
        paths = []
        for i in range(files):
            k = rng.randrange(len(seeds))
            path = folder / f"f{i:04d}{suffixes[k]}"
            path.write_bytes(mutate_bytes(seeds[k], random_ops(rng, rng.randint(0, 4))))
            paths.append(path)
            self.report.fuzz_calls += 1
            try:
                result = read_targets_file(path)
            except Exception as exc:
                self.report.escaped.append(f"importer on {path.name}: {type(exc).__name__}: {exc}")
                continue
            if any(e.line is not None and e.line < 1 for e in result.errors):
                self.report.escaped.append(f"importer on {path.name}: an error without a real line")
        for path in paths[:through_command]:
            run = self.run(
                f"import-{path.stem}", "import-targets", str(path), "--db", str(self.out / "import.db")
            )
            text = run.log.read_text(errors="replace")
            if run.returncode not in (0, 1) or "Traceback" in text:
                self.report.escaped.append(f"scrapy import-targets {path.name}: exit {run.returncode}")
            elif run.returncode == 1 and f"{path}:" not in text:
                self.report.escaped.append(f"scrapy import-targets {path.name}: an error without FILE:line")
            else:
                # an import that was refused by design is a survived run, not a failed one
                self.report.runs[-1] = Run(run.name, 0, run.seconds, run.maxrss_mb, run.log)

    def fuzz_parsers(self) -> None:
        self.report.faults_tried += 1
        result = fuzz(self.fuzz_calls)
        self.report.fuzz_calls += result.calls
        self.report.escaped += result.examples

    # --- the whole campaign ---------------------------------------------------------------------

    def main(self) -> int:
        t0 = time.monotonic()
        self.setup()
        try:
            runs = self.matrix()
            self.count_false_findings("matrix")
            self.check_secrets()
            self.kill_mid_crawl()
            self.concurrent()
        finally:
            self.faults.stop()
            self.server.shutdown()
        self.fuzz_importer(files=300, through_command=8)
        self.fuzz_parsers()
        return self.summary(runs, time.monotonic() - t0)

    def summary(self, runs: dict[str, Run], seconds: float) -> int:
        r = self.report
        for note in r.notes:
            print(note)
        for line in r.false_findings[:40]:
            print("FALSE FINDING", line)
        for line in r.secrets_leaked:
            print("SECRET LEAKED", line)
        for line in r.escaped[:20]:
            print("ESCAPED", line)
        for run in r.runs:
            if not run.ok:
                print(f"RUN FAILED {run.name}: exit {run.returncode}, log {run.log}")
        survived = sum(1 for run in r.runs if run.ok)
        print(f"campaign took {seconds:.0f} s -> {self.out}")
        print(f"faults tried: {r.faults_tried}")
        print(f"runs survived: {survived} of {len(r.runs)}")
        print(f"false findings: {len(r.false_findings)}")
        print("peak RSS: " + ", ".join(f"{n} {run.maxrss_mb:.0f} MB" for n, run in runs.items()))
        print(f"fuzz calls: {r.fuzz_calls}")
        print(f"exceptions escaped: {len(r.escaped)}")
        print(f"secrets leaked: {len(r.secrets_leaked)}")
        bad = r.false_findings or r.escaped or r.secrets_leaked or survived != len(r.runs)
        return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults.campaign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="data/faults", help="where the campaign's database and logs go")
    parser.add_argument("--fuzz-calls", type=int, default=2000, help="fuzzed calls per parser")
    args = parser.parse_args(argv)
    return Campaign(ROOT / args.out, fuzz_calls=args.fuzz_calls).main()


if __name__ == "__main__":
    raise SystemExit(main())
