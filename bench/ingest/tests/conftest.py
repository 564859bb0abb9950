import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import mailgen  # noqa: E402


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Path:
    """A 200-mail corpus, enough for every kind to appear in its share."""
    folder = tmp_path_factory.mktemp("corpus")
    mailgen.generate(folder, count=200, school_count=30)
    return folder
