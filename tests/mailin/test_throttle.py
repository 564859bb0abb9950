"""The SMTP server's per-client counting, on a clock the test moves."""
from __future__ import annotations

import pytest

from core.config.settings import load_settings
from mailin import throttle
from mailin.throttle import Throttle, Window, client_host, is_trusted, parse_networks


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_lets_limit_events_a_minute_and_room_returns_as_they_age():
    clock = Clock()
    window = Window(3, clock=clock)
    assert [window.take("a") for _ in range(4)] == [True, True, True, False]
    assert window.take("b")  # each key has its own
    clock.now += 59.9
    assert not window.take("a")
    clock.now += 0.1
    assert [window.take("a") for _ in range(4)] == [True, True, True, False]


def test_refused_events_are_not_counted_so_a_retrying_client_gets_in():
    clock = Clock()
    window = Window(1, clock=clock)
    assert window.take("a")
    for _ in range(50):
        clock.now += 1
        window.take("a")
    clock.now += 10  # 60 s after the one counted event
    assert window.take("a")


def test_a_limit_of_zero_counts_nothing():
    window = Window(0)
    assert all(window.take("a") for _ in range(1000))
    assert window._events == {}


def test_idle_clients_are_forgotten(monkeypatch):
    monkeypatch.setattr(throttle, "SWEEP_EVERY", 10)
    clock = Clock()
    window = Window(5, clock=clock)
    for number in range(9):
        window.take(f"10.0.0.{number}")
    clock.now += 61
    window.take("10.0.1.1")  # the tenth event sweeps
    assert list(window._events) == ["10.0.1.1"]


@pytest.mark.parametrize("host, trusted", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.1.2.3", True), ("10.2.0.1", False), ("192.0.2.1", False), ("fe80::1%eth0", False), ("-", False)])
def test_trusted_networks_take_addresses_networks_and_mapped_ipv4(host, trusted):
    networks = parse_networks(("127.0.0.0/8", "::1", "10.1.0.0/16"))
    assert is_trusted(host, networks) is trusted


def test_the_peer_of_a_socket_is_its_host_and_anything_else_one_client():
    assert client_host(("192.0.2.1", 40000)) == "192.0.2.1"
    assert client_host(("::1", 40000, 0, 0)) == "::1"
    assert client_host("") == client_host(None) == "-"


def test_settings_default_to_loopback_trusted_and_take_none_or_a_list(tmp_path):
    base = {"HELPDESK_DATA_DIR": str(tmp_path), "HELPDESK_SECRET_KEY": "k"}
    settings = load_settings(base)
    assert settings.smtp_trusted_networks == ("127.0.0.0/8", "::1")
    assert (settings.smtp_max_recipients, settings.smtp_connections_per_minute,
            settings.smtp_messages_per_minute) == (100, 60, 120)
    assert load_settings({**base, "HELPDESK_SMTP_TRUSTED_NETWORKS": "none"}).smtp_trusted_networks == ()
    listed = load_settings({**base, "HELPDESK_SMTP_TRUSTED_NETWORKS": " 192.0.2.10, 2001:db8::/32 "})
    assert listed.smtp_trusted_networks == ("192.0.2.10", "2001:db8::/32")
    assert Throttle(listed).admit_connection(("2001:db8::5", 25, 0, 0))


def test_a_mistyped_trusted_network_stops_the_start_with_its_name(tmp_path):
    with pytest.raises(ValueError, match="HELPDESK_SMTP_TRUSTED_NETWORKS: '10.0.0.300'"):
        load_settings({"HELPDESK_DATA_DIR": str(tmp_path), "HELPDESK_SECRET_KEY": "k",
                       "HELPDESK_SMTP_TRUSTED_NETWORKS": "127.0.0.1,10.0.0.300"})
