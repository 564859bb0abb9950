"""What tests of several packages share: access to ../shared (test corpora
that stay outside the project) and to the standard library's own email test
messages, and waiting for something to happen in another thread or process.

A user's clone has no ../shared: tests that need it skip there with a reason.
Under CI=true a missing ../shared is an error, so CI cannot pass vacuously.
"""
import importlib.util
import os
import time
from pathlib import Path
from typing import Callable, TypeVar

import pytest

T = TypeVar("T")

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is missing (it lives beside the project, outside the repository)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def stdlib_email_data() -> Path:
    spec = importlib.util.find_spec("test")
    folder = Path(spec.submodule_search_locations[0]) / "test_email" / "data" if spec else None
    if folder is None or not folder.is_dir():
        reason = "the standard library's test package (test.test_email) is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return folder


def mail_corpus() -> list[Path]:
    """Real-world mail: Python's own email test messages and the reply corpus."""
    return sorted(stdlib_email_data().glob("msg_*.txt")) + sorted(shared_path("corpora", "replies").glob("*.eml"))


def wait_for(condition: Callable[[], T], timeout: float = 20.0) -> T:
    """condition()'s first true value; the test fails if none comes within
    timeout. Wait for the sign that the work is done, never for a length of
    time: on a loaded machine any fixed pause is sometimes too short."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"what the test waited for did not happen within {timeout:g} s")
        time.sleep(0.05)
    return value
