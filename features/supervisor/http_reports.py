"""REST of the reports (thin: parse the interval, ask ``Reports``, answer JSON or CSV).

Routes (``setup_routes(app, settings)`` at install time; supervisor and admin only; the reports
run on ``app[PG_POOL]``):
- ``GET /api/reports/queues?from=&to=[&format=csv]`` (and ``/api/reports/queues.csv``)
  -> ``{from, to, timezone, queues: [{queue, figures}], total}``
- ``GET /api/reports/agents?from=&to=[&format=csv]`` (and ``/api/reports/agents.csv``)
  -> ``{from, to, timezone, agents: [{agent_id, login, full_name, answered, aht, talk, wrapup,
  time_in_state}]}``
``from``/``to``: ``YYYY-MM-DD`` (``to`` included; default ``from``) or ISO datetimes
(``schemas.ReportQuery``). Errors: 422 ``invalid-interval``, 422 ``invalid-format``, 422
``invalid-request`` (a parameter unknown or given twice).
"""
from __future__ import annotations

from aiohttp import web

from agent_api.app_keys import PG_POOL
from agent_api.auth import allow
from agent_api.bodies import read_query
from agent_api.errors import ApiError
from agent_api.openapi import documented
from features.supervisor.reports import (
    AgentReport, BadInterval, Interval, QueueReport, Reports, agents_csv, queues_csv,
)
from features.supervisor.schemas import ReportQuery
from features.supervisor.settings import SupervisorSettings

REPORT_SETTINGS = web.AppKey("supervisor_report_settings", SupervisorSettings)
_CSV = "text/csv; charset=utf-8"


class InvalidInterval(ApiError):
    status = 422
    error_id = "invalid-interval"


class InvalidFormat(ApiError):
    status = 422
    error_id = "invalid-format"


def _reports(request: web.Request) -> Reports:
    return Reports(request.app[PG_POOL], request.app[REPORT_SETTINGS])


# Their ids predate the model: a missing or empty ``from`` stays invalid-interval, a format
# other than json or csv invalid-format.
_QUERY_ERRORS = {"from": InvalidInterval, "format": InvalidFormat}


def _query(request: web.Request) -> tuple[Interval, ReportQuery]:
    query = read_query(request, ReportQuery, errors=_QUERY_ERRORS)
    try:
        return _reports(request).interval(query.from_, query.to), query
    except BadInterval as exc:
        raise InvalidInterval(str(exc)) from exc


def _attachment(body: bytes, name: str, interval: Interval) -> web.Response:
    filename = f"{name}_{interval.label_from}_{interval.label_to}.csv".replace(":", "-")
    return web.Response(body=body, headers={
        "Content-Type": _CSV, "Content-Disposition": f'attachment; filename="{filename}"'})


_AS_CSV = "`format=csv`: the CSV (`;`-separated, decimal comma, UTF-8 with a BOM)."


@documented(response=QueueReport, media=("text/csv",), note=_AS_CSV, query=ReportQuery)
@allow("supervisor", "admin")
async def queues_report(request: web.Request) -> web.Response:
    """Queue figures of an interval, per queue and in total."""
    return await _queues(request, csv_path=False)


@documented(media=("text/csv",), query=ReportQuery)
@allow("supervisor", "admin")
async def queues_report_csv(request: web.Request) -> web.Response:
    """Queue figures of an interval as CSV (`;`-separated, decimal comma, UTF-8 with a BOM)."""
    return await _queues(request, csv_path=True)


async def _queues(request: web.Request, *, csv_path: bool) -> web.Response:
    interval, query = _query(request)  # a bad format is refused on the .csv path too
    as_csv = query.format == "csv" or csv_path
    report = await _reports(request).queues(interval)
    if as_csv:
        return _attachment(queues_csv(report), "queues", interval)
    return web.json_response(text=report.model_dump_json(by_alias=True))


@documented(response=AgentReport, media=("text/csv",), note=_AS_CSV, query=ReportQuery)
@allow("supervisor", "admin")
async def agents_report(request: web.Request) -> web.Response:
    """Agent figures of an interval: answered calls, handle time, time in each state."""
    return await _agents(request, csv_path=False)


@documented(media=("text/csv",), query=ReportQuery)
@allow("supervisor", "admin")
async def agents_report_csv(request: web.Request) -> web.Response:
    """Agent figures of an interval as CSV (`;`-separated, decimal comma, UTF-8 with a BOM)."""
    return await _agents(request, csv_path=True)


async def _agents(request: web.Request, *, csv_path: bool) -> web.Response:
    interval, query = _query(request)
    as_csv = query.format == "csv" or csv_path
    report = await _reports(request).agents(interval)
    if as_csv:
        return _attachment(agents_csv(report), "agents", interval)
    return web.json_response(text=report.model_dump_json(by_alias=True))


def setup_routes(app: web.Application, settings: SupervisorSettings) -> None:
    app[REPORT_SETTINGS] = settings
    app.router.add_get("/api/reports/queues", queues_report)
    app.router.add_get("/api/reports/queues.csv", queues_report_csv)
    app.router.add_get("/api/reports/agents", agents_report)
    app.router.add_get("/api/reports/agents.csv", agents_report_csv)
