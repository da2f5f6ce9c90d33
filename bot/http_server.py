"""The optional HTTP endpoint (`[http] listen`): GET /healthz and GET /metrics."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.app import Core
from bot.config import listen_address
from bot.health import check
from bot.supervise import Supervisor

log = logging.getLogger(__name__)


class HttpEndpoint:
    """An aiohttp server on the configured address, started and stopped with the bot."""

    def __init__(self, core: Core, supervisors: Sequence[Supervisor], listen: str) -> None:
        self._core = core
        self._supervisors = supervisors
        self._host, self._port = listen_address(listen)
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self._host, self._port)

    async def stop(self) -> None:
        await self._runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        health = await check(self._core, self._supervisors)
        return web.json_response(health.report, status=200 if health.healthy else 503)

    async def _metrics(self, _: web.Request) -> web.Response:
        await check(self._core, self._supervisors)  # refreshes the gauges
        body = self._core.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
