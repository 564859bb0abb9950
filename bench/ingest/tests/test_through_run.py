import os

import mailgen
import through_run


def test_part_names_come_from_both_supervisors_log_lines():
    log = ("2026-12-06 10:52:35,481 helpdesk.supervise[100] INFO started web (pid 101)\n"
           "2026-12-06 10:52:35,498 helpdesk.supervise[100] INFO started smtp (pid 102)\n"
           "2026-12-06 10:52:37,514 helpdesk.supervise[102] INFO started smtpd-1 (pid 110)\n"
           "2026-12-06 10:52:37,538 helpdesk.supervise[102] INFO started smtpd-writer (pid 111)\n")
    assert through_run.part_names(100, log) == {100: "supervisor", 101: "web", 102: "smtp", 110: "smtpd-1",
                                                111: "smtpd-writer"}


def test_a_process_counts_for_its_nearest_named_ancestor_and_a_new_one_from_zero():
    names = {100: "supervisor", 101: "web", 103: "worker"}
    before = {100: (1, 1.0), 101: (100, 2.0), 201: (101, 5.0), 103: (100, 1.0)}
    # 201 is a gunicorn worker; 301 a Celery pool process started during the blast.
    after = {100: (1, 1.0), 101: (100, 2.5), 201: (101, 6.0), 103: (100, 1.5), 301: (103, 0.25)}
    assert through_run.cpu_by_part(before, after, names) == {"supervisor": 0.0, "web": 1.5, "worker": 0.75}


def test_a_snapshot_holds_this_process_and_what_it_started(tmp_path):
    import subprocess
    import sys

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        table = through_run.snapshot(os.getpid())
    finally:
        child.kill()
        child.wait()
    assert table[child.pid][0] == os.getpid() and os.getpid() in table


def test_a_round_through_helpdesk_run_takes_every_mail_and_says_where_the_cpu_went(tmp_path):
    corpus = tmp_path / "corpus"
    manifest = mailgen.generate(corpus, count=40, school_count=10)
    result = through_run.ours(corpus, corpus / "directory.csv", 4, manifest)
    assert (result["accepted"], result["refused"], result["unanswered"]) == (40, 0, 0)
    assert result["threading"]["replies_right_share"] == 1.0
    assert sum(result["mails_per_process"]) == 40
    cpu = result["cpu_ms_per_mail"]
    assert {"supervisor", "web", "smtp", "smtpd-1", "smtpd-2", "smtpd-writer", "worker", "senders"} <= set(cpu)
    assert cpu["smtpd-1"] > 0 and cpu["smtpd-writer"] > 0 and "other" not in cpu
