"""Process settings read from HELPDESK_* variables."""
from __future__ import annotations

import pytest

from core.config.settings import load_settings


def test_a_bulk_job_never_rests_unless_told_to(tmp_path):
    base = {"HELPDESK_DATA_DIR": str(tmp_path), "HELPDESK_SECRET_KEY": "k"}
    assert load_settings(base).bulk_duty == 1.0
    assert load_settings({**base, "HELPDESK_BULK_DUTY": "0.5"}).bulk_duty == 0.5
    assert load_settings({**base, "HELPDESK_BULK_DUTY": " 0.75 "}).bulk_duty == 0.75


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2", "half"])
def test_a_bulk_duty_that_is_no_share_of_the_time_stops_the_start_with_its_name(tmp_path, value):
    with pytest.raises(ValueError, match="HELPDESK_BULK_DUTY"):
        load_settings({"HELPDESK_DATA_DIR": str(tmp_path), "HELPDESK_SECRET_KEY": "k", "HELPDESK_BULK_DUTY": value})
