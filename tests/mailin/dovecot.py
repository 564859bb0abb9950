"""A real Dovecot for the IMAP tests, from /work/shared/recipes/dovecot-test.conf
(copied here: tests must not depend on /work/shared), on a free loopback port.
It accepts any user with the password `secret`; each user has its own Maildir."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"
PASSWORD = "secret"

CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = @DIR@/run
state_dir = @DIR@/state
log_path = @DIR@/dovecot.log
ssl = no
first_valid_uid = 100
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
default_internal_group = dovecot
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=@DIR@/mail/%u
}
mail_location = maildir:~/Maildir
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = @PORT@
  }
  inet_listener imaps {
    port = 0
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """One Dovecot master process; stop() and start() again keep the mail."""

    def __init__(self, root: Path):
        self.root, self.port = root, free_port()
        self.conf = root / "dovecot.conf"
        for folder in ("mail", "run", "state"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        self.conf.write_text(CONFIG.replace("@DIR@", str(root)).replace("@PORT@", str(self.port)))
        # Dovecot reaches the base dir as its unprivileged users.
        root.chmod(0o755)
        shutil.chown(root / "mail", "dovecot", "dovecot")

    def url(self, user: str, folder: str = "INBOX") -> str:
        return f"imap://{user}:{PASSWORD}@127.0.0.1:{self.port}/{folder}"

    def start(self) -> Dovecot:
        # The master daemonizes; a captured pipe would stay open with it.
        with open(self.root / "start.log", "ab") as out:
            subprocess.run([DOVECOT, "-c", str(self.conf)], check=True, stdout=out, stderr=out, timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log()}")

    def running(self) -> bool:
        return (self.root / "run" / "master.pid").exists()

    def stop(self) -> None:
        pid_file = self.root / "run" / "master.pid"
        if not self.running():
            return
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 15)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot {pid} did not exit")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""
