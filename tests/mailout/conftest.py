from __future__ import annotations

import pytest

from tests.mailout.relay import Relay


@pytest.fixture
def relay():
    running = Relay().start()
    yield running
    running.stop()
