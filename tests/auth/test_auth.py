from shopper.auth.models import LoginSession
from shopper.extensions import db
from tests.conftest import CSRF_META, PASSWORD, Client


def test_login_with_the_right_password_leads_home(login, world):
    c = login("inspector")
    assert c.get("/").headers["Location"].endswith("/inspect/")


def test_wrong_password_is_refused_with_a_sentence(client, world):
    response = client.login("inspector", "wrong")
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)


def test_unknown_user_is_refused_the_same_way(client, world):
    response = client.login("nobody", PASSWORD)
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)


def test_login_form_without_csrf_is_refused(client, world):
    response = client.post("/login", {"username": "inspector", "password": PASSWORD}, csrf=False)
    assert response.status_code == 400


def test_pages_need_a_login(client, world):
    response = client.get("/inspect/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    assert client.get("/inspect/", json=True).status_code == 401


def test_login_redirects_only_to_local_pages(app, world):
    c = Client(app)
    token = c.refresh_csrf()
    response = c.http.post(
        "/login?next=//evil.example/x",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_a_copied_session_cookie_stops_working_after_logout(login, app):
    c = login("admin")
    assert c.get("/office/inspections").status_code == 200
    stolen = c.http.get_cookie("session").value
    assert c.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/office/inspections")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with app.app_context():
        assert db.session.query(LoginSession).count() == 0


def test_logout_ends_only_that_browsers_session(login, app):
    phone, laptop = login("admin"), login("admin")
    phone.post("/logout")
    assert laptop.get("/office/inspections").status_code == 200


def test_session_cookie_is_httponly_and_lax(login):
    c = login("admin")
    cookie = c.http.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure


def test_session_cookie_is_secure_over_https(app, world):
    http = app.test_client()
    page = http.get("/login", base_url="https://localhost").get_data(as_text=True)
    token = CSRF_META.search(page).group(1)
    response = http.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/login"},
    )
    assert response.status_code == 302
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_deactivated_user_is_signed_out(login, app, world):
    from shopper.auth.models import User

    c = login("admin")
    with app.app_context():
        db.session.get(User, world.users["admin"]).active = False
        db.session.commit()
    assert c.get("/office/inspections").status_code == 302


def test_language_can_be_switched(client, world):
    client.http.get("/language/zh_CN")
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.http.get("/language/en")
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    assert client.get("/language/fr").status_code == 404


def test_chinese_is_the_default_language(app, world):
    plain = app.test_client()
    assert "登录" in plain.get("/login").get_data(as_text=True)


def test_next_urls_that_lead_elsewhere_are_ignored(client, world):
    for target in [
        "//evil.example/x",
        "/%09/evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
        "/%0a/x",
    ]:
        response = client.http.get(f"/language/en?next={target}")
        assert response.status_code == 302 and response.headers["Location"] == "/", target


def test_a_session_ends_when_its_lifetime_is_over(login, app):
    from datetime import timedelta

    from shopper.db import utcnow

    c = login("admin")
    with app.app_context():
        row = db.session.query(LoginSession).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert c.get("/office/inspections").status_code == 302


def test_signed_in_pages_are_not_kept_in_the_browser_cache(login):
    assert login("admin").get("/office/inspections").headers["Cache-Control"] == "no-store"


def test_secure_cookies_and_proxy_headers_come_from_the_environment(monkeypatch, tmp_path):
    from shopper import config

    monkeypatch.setenv("SHOPPER_SECURE_COOKIES", "1")
    monkeypatch.setenv("SHOPPER_BEHIND_PROXY", "true")
    loaded = config.load(tmp_path, {"SECRET_KEY": "x"})
    assert loaded["SESSION_COOKIE_SECURE"] and loaded["BEHIND_PROXY"]
