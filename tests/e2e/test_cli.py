"""The command line as a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.factories import MERCHANT, make_order
from tests.live import LiveServer, free_port


def test_with_no_configuration_a_demo_merchant_is_created_kept_and_printed(tmp_path: Path) -> None:
    server = LiveServer(tmp_path)
    server.start()
    try:
        first = re.search(r"username (\S+) password (\S+)", server.output())
        assert first is not None, server.output()
        assert "listening on http://127.0.0.1:" in server.output()
        assert "database: sqlite:///" in server.output()
        user, password = first.groups()
        response = httpx.get(server.url + "/checkout/v3/orders/x", auth=(user, password))
        assert response.status_code == 404  # signed in; the order does not exist
        # The portal it points to takes the same username and password.
        assert f"portal: {server.url}/portal" in server.output()
        signed = httpx.post(
            server.url + "/portal/sign-in", data={"username": user, "password": password}
        )
        assert signed.status_code == 303
        assert signed.headers["Location"] == "/portal/orders"
        assert server.terminate() == 0  # SIGTERM is a clean shutdown
        server.start()
        again = re.search(r"username (\S+) password (\S+)", server.output())
        assert again is not None
        assert again.groups() == (user, password)
    finally:
        server.stop()


def test_every_flag_can_come_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "KCO_SANDBOX_PORT": str(port),
        "KCO_SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}",
        "KCO_SANDBOX_MERCHANT": "envuser:envpass:EnvShop",
        "KCO_SANDBOX_PUBLIC_URL": "https://sandbox.example",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "kco_sandbox", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,
    )
    response = None
    try:
        for _ in range(200):
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/checkout/v3/orders",
                    json=make_order(),
                    auth=("envuser", "envpass"),
                )
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert response is not None
        assert response.status_code == 201
        assert response.json()["name"] == "EnvShop"
        assert response.headers["location"].startswith("https://sandbox.example/checkout/v3/")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert "envuser" in output


def test_merchants_file(tmp_path: Path) -> None:
    merchants = tmp_path / "merchants.json"
    merchants.write_text(
        '[{"username": "de-shop", "password": "k1", "name": "DE Shop", "markets": ["DE"]}]'
    )
    server = LiveServer(tmp_path, extra_args=["--merchants-file", str(merchants)])
    server.start()
    try:
        swedish = httpx.post(
            server.url + "/checkout/v3/orders", json=make_order(), auth=("de-shop", "k1")
        )
        assert swedish.status_code == 400
        assert swedish.json()["error_messages"] == ["Bad value: purchase_country"]
    finally:
        server.stop()


def test_db_upgrade_and_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'up.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "kco_sandbox", "db", "upgrade", "--database-url", url],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "current schema" in result.stdout
    version = subprocess.run(
        [sys.executable, "-m", "kco_sandbox", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("kco-sandbox, version ")


def test_a_bad_merchant_flag_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kco_sandbox", "serve", "--merchant", "no-password"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "USER:PASSWORD" in result.stderr


def test_serving_from_postgresql_after_db_upgrade(tmp_path: Path, postgres_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "kco_sandbox", "db", "upgrade", "--database-url", postgres_url],
        capture_output=True,
        text=True,
        check=True,
    )
    server = LiveServer(tmp_path, merchants=[MERCHANT], database_url=postgres_url)
    server.start()
    try:
        auth = (MERCHANT.merchant_id, MERCHANT.api_key)
        created = httpx.post(server.url + "/checkout/v3/orders", json=make_order(), auth=auth)
        assert created.status_code == 201
        server.kill()
        server.start()
        assert httpx.get(created.headers["location"], auth=auth).status_code == 200
    finally:
        server.stop()


def test_a_postgresql_database_without_the_schema_is_refused(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    empty = f"{url.database}_empty"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{empty}"'))
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "kco_sandbox",
                "serve",
                "--database-url",
                url.set(database=empty).render_as_string(hide_password=False),
                "--port",
                "0",  # any free port: the refusal must be about the schema, not a port in use
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2
        assert "kco-sandbox db upgrade" in result.stderr
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{empty}" WITH (FORCE)'))
        admin.dispose()
