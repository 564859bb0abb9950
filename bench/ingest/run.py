"""Run the inbound-mail ingest bench: ceiling, peer and ours on one corpus.

    .venv/bin/python bench/ingest/run.py [--count 2000] [--concurrency 8] [--rounds 3]

Generates the corpus into a temp dir, then measures in the same run:
  ceiling  bare aiosmtpd, fsync each message, 250 (ceiling.py), over SMTP;
  peer     django-helpdesk 2.6.1's get_email path on the same files, in its
           own venv (peer_django_helpdesk/; run setup.sh once first);
  ours     the product's SMTP server, through `ours()` below, as
           `helpdesk smtpd --processes N` (--processes, default 2: one per
           core of the reference machine); or with --server run the whole
           `helpdesk run`, as `make run` starts it, with the CPU each of its
           parts spends per mail (through_run.py).
Each round runs ceiling, ours and peer in turn, so all three see the same
noise; ceiling and ours swap places every round (ceiling first in odd rounds,
ours first in even ones), as a round run straight after another is slowed
by the first one's files still being written back. Each figure is the
median of its rounds, and each ratio the median of the per-round ratios.
Prints a table and the ratios the issue sets as targets, and writes
everything to bench/out/ingest-<time>.json.
"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import ceiling  # noqa: E402
import mailgen  # noqa: E402
import product  # noqa: E402
import verify  # noqa: E402

PEER_PYTHON = HERE.parent / ".peer-venv" / "bin" / "python"
PEER_RUNNER = HERE / "peer_django_helpdesk" / "run_peer.py"
OUT_DIR = HERE.parent / "out"
TARGETS = {"ours_over_ceiling": 0.5, "ours_over_peer": 4.0, "replies_right_share": 1.0, "auth_over_noauth": 0.8}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_ready(log: Path, server: subprocess.Popen, seconds: float = 60) -> None:
    """Until the server says it listens: with several processes, every one of
    them listens by then, so the senders' connections are shared among all."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if "smtpd listening on" in log.read_text(errors="replace"):
            return
        if server.poll() is not None:
            raise RuntimeError(f"helpdesk smtpd exited with {server.returncode}: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    raise RuntimeError("helpdesk smtpd did not say it listens")


def ours(corpus_dir: Path, directory_csv: Path, concurrency: int, manifest: list[dict], processes: int = 2,
         auth: str = "") -> dict:
    """One round against the product's SMTP server (`helpdesk smtpd`) on a fresh
    SQLite data dir with the corpus's directory imported; threading is read
    back from `helpdesk export`. `auth`: "" as configured by the caller's
    environment; "off" without the sender authentication checks (noauth/);
    "host:port" with them, asking that DNS server."""
    with tempfile.TemporaryDirectory(prefix="ours-") as data:
        env = product.fresh_env(Path(data))
        if auth == "off":
            env["HELPDESK_BENCH_NO_AUTH"] = "1"
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE / "noauth"), env.get("PYTHONPATH")]))
        elif auth:
            env["HELPDESK_DNS_RESOLVER"] = auth
        product.prepare(env, directory_csv)
        port = free_port()
        log = Path(data) / "smtpd.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(
                [*product.HELPDESK, "smtpd", "--port", str(port), "--processes", str(processes)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        try:
            wait_for_ready(log, server)
            result = ceiling.blast("127.0.0.1", port, sorted(corpus_dir.glob("*.eml")), concurrency)
        finally:
            server.terminate()
            server.wait(timeout=30)
        result["mails_per_process"] = product.mails_per_process(log.read_text(errors="replace"))
        result["threading"] = product.threading_score(env, Path(data), manifest)
    return result


def ours_round(corpus_dir: Path, manifest: list[dict], args: argparse.Namespace, auth: str = "") -> dict:
    """One round of ours: `helpdesk smtpd --processes N`, or with --server run
    the whole `helpdesk run` as `make run` starts it (through_run.py)."""
    if getattr(args, "server", "smtpd") == "run":
        import through_run
        return through_run.ours(corpus_dir, corpus_dir / "directory.csv", args.concurrency, manifest)
    return ours(corpus_dir, corpus_dir / "directory.csv", args.concurrency, manifest, args.processes, auth)


def run_peer_round(corpus_dir: Path, workdir: Path, manifest: list[dict]) -> dict:
    assignments = workdir / "peer-assignments.jsonl"
    finished = subprocess.run(
        [str(PEER_PYTHON), str(PEER_RUNNER), str(corpus_dir), "--assignments", str(assignments)],
        capture_output=True, text=True, check=True)
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    # django-helpdesk logs refused attachments to stderr through logging's last resort.
    result["stderr_lines"] = len(finished.stderr.splitlines())
    with assignments.open(encoding="utf-8") as lines:
        tickets = {row["message_id"]: row["ticket"] for row in map(json.loads, lines)}
    result["threading"] = verify.score(manifest, tickets)
    return result


def settle(seconds: float = 2.0) -> None:
    """Let the disk catch up with what the last run wrote before the next starts."""
    os.sync()
    time.sleep(seconds)


def measure_rounds(corpus_dir: Path, workdir: Path, manifest: list[dict],
                   args: argparse.Namespace) -> dict[str, list[dict]]:
    """Ceiling, ours and peer, one round of each in turn, so all see the same
    noise; ceiling and ours in alternating order (see the module's docstring).

    The peer runs at most --peer-rounds rounds and none that would take it
    past --peer-budget seconds in all.
    """
    files = sorted(corpus_dir.glob("*.eml"))
    rounds: dict[str, list[dict]] = {"ceiling": [], "ours": [], "peer": []}
    names = ["ceiling", "ours"]
    if args.auth_compare:
        dns = auth_dns(manifest)
        rounds["ours_noauth"] = []
        names.append("ours_noauth")
    peer_seconds = 0.0
    for number in range(1, args.rounds + 1):
        for name in names if number % 2 else names[::-1]:
            settle()
            if name == "ceiling":
                rounds["ceiling"].append(
                    ceiling.measure(files, args.concurrency, workdir / f"ceiling-{number}"))
            else:
                auth = ("off" if name == "ours_noauth" else dns.address) if args.auth_compare else ""
                rounds[name].append(ours_round(corpus_dir, manifest, args, auth))
        done = len(rounds["peer"])
        if (not args.skip_peer and done < args.peer_rounds
                and (done == 0 or peer_seconds * (done + 1) / done <= args.peer_budget)):
            settle()
            started = time.monotonic()
            (workdir / f"peer-{number}").mkdir()
            rounds["peer"].append(run_peer_round(corpus_dir, workdir / f"peer-{number}", manifest))
            peer_seconds += time.monotonic() - started
    return rounds


def auth_dns(manifest: list[dict]):
    """A local DNS server (dnslib) publishing, for every sender domain of the
    corpus, an SPF record the loopback client passes and a DMARC record:
    each mail then costs its checks their full lookups (SPF, HELO, DMARC),
    answered from this process's cache of one server."""
    sys.path.insert(0, str(ROOT))
    from tests.dnsserver import LocalDns

    dns = LocalDns().start()
    for domain in sorted({row["sender"].rpartition("@")[2].lower() for row in manifest}):
        dns.txt(domain, "v=spf1 ip4:127.0.0.0/8 -all")
        dns.txt(f"_dmarc.{domain}", "v=DMARC1; p=quarantine")
    dns.txt("localhost", "v=spf1 ip4:127.0.0.0/8 -all")
    return dns


def median(results: list[dict], key: str) -> float | None:
    values = [r[key] for r in results if r.get(key) is not None]
    return round(statistics.median(values), 2) if values else None


def summarise(name: str, results: list[dict]) -> dict:
    replies = [r["threading"]["replies_right_share"] for r in results if "threading" in r]
    return {"name": name, "rounds": len(results),
            "per_second": median(results, "per_second"),
            "p50_ms": median(results, "p50_ms"), "p95_ms": median(results, "p95_ms"),
            "errors": sum(r.get("refused", 0) + r.get("unanswered", 0) + r.get("errors", 0)
                          for r in results),
            "replies_right_share": min(replies) if replies else None,
            "all_rounds_per_second": [r["per_second"] for r in results],
            **cpu_medians(results)}


def cpu_medians(results: list[dict]) -> dict:
    """Medians over the rounds of each part's CPU per mail (rounds through `helpdesk run` only)."""
    measured = [r for r in results if "cpu_ms_per_mail" in r]
    if not measured:
        return {}
    found = {"cpu_ms_per_mail": part_medians(measured, "cpu_ms_per_mail"),
             "cpu_ms_per_mail_total": median(measured, "cpu_ms_per_mail_total"),
             "machine_busy_share": median(measured, "machine_busy_share")}
    drained = [r for r in measured if "cpu_ms_per_mail_with_drain" in r]
    if drained:
        found.update({"cpu_ms_per_mail_with_drain": part_medians(drained, "cpu_ms_per_mail_with_drain"),
                      "cpu_ms_per_mail_total_with_drain": median(drained, "cpu_ms_per_mail_total_with_drain"),
                      "spool_left_at_last_250": median(drained, "spool_left_at_last_250"),
                      "spool_drain_seconds": median(drained, "spool_drain_seconds")})
    return found


def part_medians(results: list[dict], key: str) -> dict[str, float]:
    parts = sorted({part for r in results for part in r[key]})
    return {part: round(statistics.median(r[key].get(part, 0.0) for r in results), 2) for part in parts}


def paired_ratio(tops: list[dict], bottoms: list[dict]) -> float | None:
    """Median over rounds of top/bottom messages/s, each pair measured side by side."""
    pairs = [top["per_second"] / bottom["per_second"] for top, bottom in zip(tops, bottoms)]
    return round(statistics.median(pairs), 3) if pairs else None


def ratios(rounds: dict[str, list[dict]], summary: dict[str, dict]) -> dict:
    if not rounds["ours"]:
        return {}
    extra = {"auth_over_noauth": paired_ratio(rounds["ours"], rounds["ours_noauth"])} \
        if rounds.get("ours_noauth") else {}
    return {**extra, "ours_over_ceiling": paired_ratio(rounds["ours"], rounds["ceiling"]),
            "ours_over_peer": paired_ratio(rounds["ours"], rounds["peer"]),
            "replies_right_share": summary["ours"]["replies_right_share"]}


def print_table(summary: dict[str, dict], found: dict) -> None:
    print(f"{'server':<10}{'rounds':>7}{'msg/s':>10}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'errors':>8}{'replies ok':>12}   rounds msg/s")
    for row in summary.values():
        share = row["replies_right_share"]
        print(f"{row['name']:<10}{row['rounds']:>7}{row['per_second']:>10}"
              f"{row['p50_ms'] or '-':>9}{row['p95_ms'] or '-':>9}{row['errors']:>8}"
              f"{'-' if share is None else f'{share:.1%}':>12}   {row['all_rounds_per_second']}")
    for row in summary.values():
        if "cpu_ms_per_mail" in row:
            parts = ", ".join(f"{part} {ms}" for part, ms in row["cpu_ms_per_mail"].items())
            print(f"{row['name']} CPU ms per mail (medians): {parts}; total {row['cpu_ms_per_mail_total']}; "
                  f"machine busy {row['machine_busy_share']:.0%}")
        if "cpu_ms_per_mail_with_drain" in row:
            parts = ", ".join(f"{part} {ms}" for part, ms in row["cpu_ms_per_mail_with_drain"].items())
            print(f"{row['name']} with the spool's drain after the last 250 ({row['spool_left_at_last_250']} mails "
                  f"left, {row['spool_drain_seconds']} s): {parts}; total {row['cpu_ms_per_mail_total_with_drain']}")
    for key, target in TARGETS.items():
        value = found.get(key)
        verdict = "n/a" if value is None else ("ok" if value >= target else "MISSED")
        print(f"{key:<22} {'-' if value is None else value!s:>8}  target >= {target}  {verdict}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=mailgen.SEED)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer-rounds", type=int, default=3)
    parser.add_argument("--peer-budget", type=float, default=900.0,
                        help="seconds the peer may take in all; fewer rounds past it")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--auth-compare", action="store_true",
                        help="ours with the sender authentication checks against a local DNS server, "
                             "and ours_noauth without them, every round")
    parser.add_argument("--processes", type=int, default=2,
                        help="ours runs as `helpdesk smtpd --processes N`")
    parser.add_argument("--server", choices=("smtpd", "run"), default="smtpd",
                        help="ours as `helpdesk smtpd --processes N`, or as the whole `helpdesk run` "
                             "(as `make run` starts it; its CPU per mail by part is reported too)")
    args = parser.parse_args(argv)
    if not args.skip_peer and not PEER_PYTHON.exists():
        sys.exit(f"no peer venv at {PEER_PYTHON}: run bench/ingest/peer_django_helpdesk/setup.sh")

    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        workdir = Path(tmp)
        corpus_dir = workdir / "corpus"
        manifest = mailgen.generate(corpus_dir, args.count, args.seed)
        rounds = measure_rounds(corpus_dir, workdir, manifest, args)

    summary = {name: summarise(name, results) for name, results in rounds.items() if results}
    found = ratios(rounds, summary)
    layout = "helpdesk run" if args.server == "run" else f"helpdesk smtpd --processes {args.processes}"
    print(f"ours: {layout}, {args.concurrency} concurrent senders, {args.count} mails")
    print_table(summary, found)
    OUT_DIR.mkdir(exist_ok=True)
    out = OUT_DIR / f"ingest-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps({
        "config": vars(args), "machine": {"cpus": os.cpu_count(), "python": sys.version,
                                          "platform": platform.platform()},
        "summary": summary, "ratios": found, "targets": TARGETS,
        "rounds": rounds}, indent=2), "utf-8")
    print(f"written {out}")


if __name__ == "__main__":
    main()
