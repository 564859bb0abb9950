from dataclasses import replace

from portal import create_app


def test_healthz_answers_when_the_database_does(database):
    client = create_app(database.settings, database).test_client()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_every_page_sends_the_security_headers(database):
    client = create_app(database.settings, database).test_client()
    response = client.get("/no-such-page?lang=en")
    assert response.status_code == 404
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert b"Page not found" in response.data


def test_the_language_follows_the_browser_and_the_switch(database):
    client = create_app(database.settings, database).test_client()
    page = client.get("/missing", headers={"Accept-Language": "id-ID,id;q=0.9"})
    assert "Halaman tidak ditemukan" in page.text
    page = client.get("/missing?lang=en", headers={"Accept-Language": "id"})
    assert "Page not found" in page.text
    assert "Page not found" in client.get("/missing").text  # the choice is remembered


def test_the_language_cookie_is_secure_exactly_under_an_https_base_url(database):
    for base_url, secure in (("https://helpdesk.example", True), ("http://127.0.0.1:8000", False)):
        client = create_app(replace(database.settings, base_url=base_url), database).test_client()
        cookie = client.get("/missing?lang=en").headers["Set-Cookie"]
        assert cookie.startswith("lang=en;") and "HttpOnly" in cookie
        assert ("Secure" in cookie.split("; ")) is secure
