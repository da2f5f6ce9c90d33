"""A real Synapse homeserver for tests: config written to a temp dir, run as a child process."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SERVER_NAME = "coop.test"
SHARED_SECRET = "coopbot-test-shared-secret"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(directory: Path, port: int) -> str:
    # Rate limits raised so that a story test never waits on them.
    generous = {"per_second": 1000, "burst_count": 1000}
    config = {
        "server_name": SERVER_NAME,
        "pid_file": str(directory / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        "log_config": str(directory / "log.yaml"),
        "media_store_path": str(directory / "media"),
        "signing_key_path": str(directory / "signing.key"),
        "registration_shared_secret": SHARED_SECRET,
        "enable_registration": False,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "macaroon_secret_key": "coopbot-test-macaroon",
        "form_secret": "coopbot-test-form",
        "rc_message": generous,
        "rc_registration": generous,
        "rc_login": {"address": generous, "account": generous, "failed_attempts": generous},
        "rc_joins": {"local": generous, "remote": generous},
        "rc_joins_per_room": generous,
        "rc_invites": {"per_room": generous, "per_user": generous, "per_issuer": generous},
        "rc_3pid_validation": generous,
        "rc_admin_redaction": generous,
        "rc_key_requests": generous,
        "rc_presence": {"per_user": generous},
        "rc_delayed_event_mgmt": generous,
        "rc_media_create": generous,
        "rc_room_creation": generous,
        "federation_rr_transactions_per_room_per_second": 1000,
        "presence": {"enabled": False},
        "url_preview_enabled": False,
        "enable_metrics": False,
        "bcrypt_rounds": 4,
    }
    return json.dumps(config)  # JSON is YAML


_LOG_CONFIG = """\
version: 1
formatters:
  precise:
    format: '%(asctime)s %(name)s %(levelname)s %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {path}
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


@dataclass
class Synapse:
    """One homeserver process; `stop()` and `start()` may be called again (same data)."""

    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def prepare(cls, directory: Path) -> Synapse:
        from signedjson.key import generate_signing_key, write_signing_keys

        directory.mkdir(parents=True, exist_ok=True)
        port = free_port()
        (directory / "homeserver.yaml").write_text(_config(directory, port))
        (directory / "log.yaml").write_text(_LOG_CONFIG.format(path=directory / "homeserver.log"))
        with open(directory / "signing.key", "w") as handle:
            write_signing_keys(handle, [generate_signing_key("a_test")])
        return cls(directory=directory, port=port)

    def start(self, timeout: float = 60.0) -> None:
        if self.running:
            return
        log = open(self.directory / "stdout.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "-c",
                str(self.directory / "homeserver.yaml"),
            ],
            cwd=self.directory,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SYNAPSE_ASYNC_IO_REACTOR": "0"},
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "Synapse exited at start-up; see " + str(self.directory / "stdout.log")
                )
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)  # polling a child process's port, not waiting on bot time
        self.stop()
        raise RuntimeError("Synapse did not answer /health in time")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def _request(
        self, path: str, body: Mapping[str, object], token: str | None = None
    ) -> dict[str, object]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            result: dict[str, object] = json.load(resp)
            return result

    def limit_messages(self, user_id: str, per_second: int, burst: int) -> None:
        """Make `user_id` hit Synapse's message rate limit (429) after `burst` messages."""
        localpart = "admin-" + os.urandom(4).hex()
        self.register(localpart, "admin-password", admin=True)
        login = self._request(
            "/_matrix/client/v3/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": localpart},
                "password": "admin-password",
            },
        )
        path = f"/_synapse/admin/v1/users/{urllib.parse.quote(user_id)}/override_ratelimit"
        limits = {"messages_per_second": per_second, "burst_count": burst}
        self._request(path, limits, token=str(login["access_token"]))

    def register(self, localpart: str, password: str, admin: bool = False) -> str:
        """Create a user through the shared-secret admin API; returns the user id."""
        endpoint = self.url + "/_synapse/admin/v1/register"
        with urllib.request.urlopen(endpoint, timeout=10) as resp:
            nonce = json.load(resp)["nonce"]
        mac = hmac.new(SHARED_SECRET.encode(), digestmod=hashlib.sha1)
        mac.update(
            b"\x00".join(
                [
                    nonce.encode(),
                    localpart.encode(),
                    password.encode(),
                    b"admin" if admin else b"notadmin",
                ]
            )
        )
        body = json.dumps(
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            }
        ).encode()
        request = urllib.request.Request(
            endpoint, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as resp:
            return str(json.load(resp)["user_id"])
