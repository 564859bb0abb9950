"""gunicorn's settings for the portal, read by the Procfile's `web` and by
`helpdesk run` alike (`--config gunicorn.conf.py`), so the two cannot drift.
Options given on gunicorn's command line or in GUNICORN_CMD_ARGS win.

Threaded workers (gthread): a kept-alive connection waiting for its client's
next request sits in the worker's poller, not in a thread, so idle clients
cannot hold the workers. A sync worker serves one connection at a time:
with 20 staff clicking through pages, each pausing a second, a million
tickets gave p95 near 500 ms on sync workers against under 100 ms on threads
(bench/RESULTS.md, staff pages).
"""
import os

from mailin.supervise import available_cores

worker_class = "gthread"
# One process per core and one more: a page's Python holds its process's
# interpreter lock, so processes, not threads, use the cores.
workers = int(os.environ.get("WEB_CONCURRENCY") or available_cores() + 1)
# Threads carry the requests in progress: while one waits on the database,
# another renders. Eight kept p95 under 100 ms for 20 busy staff on 2 cores.
threads = int(os.environ.get("WEB_THREADS") or 8)
# Seconds a browser's idle connection is kept for its next page.
keepalive = 5
accesslog = "-"
# Access and error lines with private-link and reset tokens masked (weblog.py).
logger_class = "weblog.MaskingLogger"
