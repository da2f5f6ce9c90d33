"""Signing the bot in to its homeserver: a client with its store, and a reused or new login."""

from __future__ import annotations

import logging

from aiohttp import ClientError
from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse
from nio.crypto import ENCRYPTION_ENABLED

from adapters.matrix.encryption import fingerprint, upload_keys
from adapters.matrix.preflight import TOKEN_HINT, unreachable
from adapters.matrix.state import AdapterState, Session
from bot.config import MatrixSettings
from bot.supervise import PlatformRefused

log = logging.getLogger(__name__)

# Answers that mean the account or its token is refused for good, not a passing fault.
_REFUSALS = frozenset({"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN", "M_USER_DEACTIVATED"})


class MatrixError(PlatformRefused):
    """The adapter cannot go on (bad credentials, a homeserver refusing the account)."""


class MatrixUnavailable(Exception):
    """The homeserver cannot be reached or answered with an error that may pass."""


class Login:
    """Opens the client over the store in `state` and signs it in: with the configured
    access token, the saved session (same device, same keys), or the password."""

    def __init__(
        self,
        settings: MatrixSettings,
        state: AdapterState,
        *,
        device_name: str,
        max_timeouts: int | None,
        max_retry_wait: float,
    ) -> None:
        self.settings = settings
        self.state = state
        self.device_name = device_name
        self.max_timeouts = max_timeouts
        self.max_retry_wait = max_retry_wait

    async def connect(self) -> AsyncClient:
        settings = self.settings
        self.state.prepare()
        config = AsyncClientConfig(
            encryption_enabled=ENCRYPTION_ENABLED,
            store_sync_tokens=False,  # saved by the adapter, only after the events are handled
            max_limit_exceeded=None,  # on 429, wait as long as the homeserver asks, then retry
            # A lost connection fails a request after a few tries (instead of nio retrying
            # forever, silently): the sync loop and the supervisor back off and say why.
            max_timeouts=self.max_timeouts,
            max_timeout_retry_wait_time=self.max_retry_wait,
            request_timeout=60,
        )
        client = AsyncClient(
            settings.homeserver,
            settings.user_id,
            device_id=settings.device_id or None,
            store_path=str(self.state.store_path),
            config=config,
        )
        try:
            await self.login(client)
            await upload_keys(client)
            # Operators publish these so that members can verify the bot's device by hand.
            log.info(
                "Matrix: signed in as %s on %s; device %s, ed25519 key %s",
                client.user_id,
                settings.homeserver,
                client.device_id,
                fingerprint(client),
            )
        except (ClientError, TimeoutError) as exc:
            await client.close()
            raise MatrixUnavailable(unreachable(settings.homeserver, exc)) from exc
        except BaseException:
            await client.close()
            raise
        return client

    def refusal(self, what: str, response: object) -> Exception:
        """The error for a refused login or token: for good (MatrixError), or passing."""
        code = getattr(response, "status_code", None)
        if code in _REFUSALS:
            hint = TOKEN_HINT if self.settings.access_token else "check matrix.password"
            return MatrixError(f"{self.settings.homeserver} refused {what} ({response}); {hint}")
        return MatrixUnavailable(f"{self.settings.homeserver} answered {response} to {what}")

    @property
    def can_log_in_again(self) -> bool:
        """Whether a logged-out session may be replaced by a password login."""
        return not self.settings.access_token and bool(self.settings.password)

    async def login(self, client: AsyncClient) -> None:
        settings = self.settings
        if settings.access_token:
            device_id = settings.device_id
            if not device_id:
                client.access_token = settings.access_token
                who = await client.whoami()
                if not isinstance(who, WhoamiResponse) or not who.device_id:
                    raise self.refusal("matrix.access_token", who)
                device_id = who.device_id
            client.restore_login(settings.user_id, device_id, settings.access_token)
            return
        saved = self.state.load_session(settings.user_id)
        if saved is not None and (not settings.device_id or saved.device_id == settings.device_id):
            client.restore_login(saved.user_id, saved.device_id, saved.access_token)
            who = await client.whoami()
            if isinstance(who, WhoamiResponse):
                return
            log.warning("the saved Matrix session was refused (%s); logging in again", who)
            client.device_id = saved.device_id  # keep the device, and so its keys
        response = await client.login(settings.password, device_name=self.device_name)
        if not isinstance(response, LoginResponse):
            raise self.refusal(f"the login of {settings.user_id} with matrix.password", response)
        self.state.save_session(
            Session(response.user_id, response.device_id, response.access_token)
        )
