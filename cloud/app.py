"""create_app(settings): the FastAPI application, its routers, error handling and workers."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from cloud.auth import PasswordChangeRequired
from cloud.runtime import Periodic, Runtime
from cloud.services.common import ForbiddenError, RefusedError
from cloud.settings import Settings
from cloud.store import NotFoundError

log = logging.getLogger("sqjz.cloud")
HERE = Path(__file__).resolve().parent


def describe_errors(errors: list[Any]) -> str:
    """One readable line per invalid field: 'body.person.id_number: ID number ...'."""
    parts = []
    for e in errors:
        where = ".".join(str(x) for x in e.get("loc", ()))
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return "; ".join(parts)


def start_workers(rt: Runtime) -> None:
    """MQTT ingest, periodic jobs and the 110 dispatcher."""
    from cloud import dispatch, jobs
    from cloud.ingest import Ingestor
    from cloud.mqtt import MqttWorker
    from cloud.services import devices

    st = rt.settings
    if st.mqtt_enabled:
        ingestor = Ingestor(rt.store, st.low_battery_pct)

        def on_up(batch: Any) -> None:
            from cloud.services.alerts import broadcast

            result = ingestor.ingest(batch, rt.now())
            for topic, payload in result.publish:
                rt.publish(topic, payload)
            for alert_id, new in result.alerts:
                broadcast(rt, alert_id, "raised" if new else "folded")

        rt.mqtt = MqttWorker(
            st.mqtt_host,
            st.mqtt_port,
            st.mqtt_client_id,
            on_up,
            lambda kind, hub, payload: devices.on_hub_message(rt, kind, hub, payload),
            on_connected=rt.resync_configs,
            username=st.mqtt_username,
            password=st.mqtt_password,
            tls_ca=str(st.mqtt_tls_ca) if st.mqtt_tls_ca else None,
            batch=st.ingest_batch,
            linger_s=st.ingest_linger_s,
        )
        rt.mqtt.start()
    rt.workers.append(
        Periodic(
            "sqjz-jobs", st.jobs_interval_s, lambda now: jobs.run_all(rt, now), rt.clock
        ).start()
    )
    if st.dispatch_url:
        rt.workers.append(
            Periodic(
                "sqjz-dispatch",
                min(1.0, st.dispatch_retry_s),
                lambda now: dispatch.deliver_due(rt, now),
                rt.clock,
            ).start()
        )


def create_app(
    settings: Settings, workers: bool = True, clock: Callable[[], float] = time.time
) -> FastAPI:
    """Build the app: migrate the data folder, create the first admin if set, mount routers."""
    from cloud.routers import (
        admin,
        alerts,
        assessments,
        auth,
        cases,
        oversight,
        supervision,
        ui,
        ui_acts,
        ui_admin,
        ui_audit,
    )
    from cloud.services.oversight import ensure_admin

    rt = Runtime(settings, clock)
    if settings.admin_username and settings.admin_password:
        ensure_admin(rt, settings.admin_username, settings.admin_password)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if workers:
            start_workers(rt)
        try:
            yield
        finally:
            rt.close()

    app = FastAPI(title="sqjz 社区矫正 cloud", version="0.1.0", lifespan=lifespan)
    app.state.rt = rt
    for module in (
        auth,
        cases,
        supervision,
        alerts,
        assessments,
        oversight,
        admin,
        ui,
        ui_acts,
        ui_admin,
        ui_audit,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _errors(app)
    return app


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _errors(app: FastAPI) -> None:
    def answer(request: Request, status: int, message: str, extra: Any = None) -> Response:
        if _wants_html(request):
            if status == 401:
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            from cloud.routers.ui import error_page

            return error_page(request, status, message)
        body: dict[str, Any] = {"detail": message}
        if extra is not None:
            body["errors"] = extra
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return answer(request, 422, describe_errors(errors), errors)

    @app.exception_handler(RefusedError)
    async def refused(request: Request, exc: RefusedError) -> Response:
        return answer(request, 422, str(exc))

    @app.exception_handler(ForbiddenError)
    async def forbidden(request: Request, exc: ForbiddenError) -> Response:
        return answer(request, 403, str(exc))

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return answer(request, 404, f"not found / 未找到: {exc}")

    @app.exception_handler(sqlite3.IntegrityError)
    async def integrity(request: Request, exc: sqlite3.IntegrityError) -> Response:
        return answer(request, 409, f"conflict with stored data / 与已有数据冲突: {exc}")

    @app.exception_handler(PasswordChangeRequired)
    async def change_password(request: Request, exc: PasswordChangeRequired) -> Response:
        if _wants_html(request):
            return RedirectResponse("/account/password", status_code=303)
        return answer(request, 403, str(exc.detail))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return answer(request, exc.status_code, str(exc.detail))
