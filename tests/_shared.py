"""Access to ../shared (test corpora that stay outside the project).

A user's clone has no ../shared: tests that need it skip there with a reason.
Under CI=true a missing ../shared is an error, so CI cannot pass vacuously.
"""
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is missing (it lives beside the project, outside the repository)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
