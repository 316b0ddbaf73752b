"""The one settings class: every section of every package, read from ``CCS_*`` variables.

``CCS_AMI__HOST`` sets ``settings.ami.host``; the README table lists every field. This is the
only module that reads the environment.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent_api.settings import AuthSettings, HttpSettings
from campaigns.settings import CampaignSettings
from cti.settings import AmiSettings, SimulatorSettings
from features.agents.settings import AgentsSettings
from features.supervisor.settings import SupervisorSettings
from ivr.settings import IvrSettings
from speech.settings import SpeechSettings
from state.settings import PostgresSettings, ReadingsSettings, RedisSettings


class LocalSettings(BaseModel):
    data_dir: Path = Field(
        Path(".data"),
        description="Folder of the embedded PostgreSQL and Redis (demo and tests).",
    )


class DemoSettings(BaseModel):
    accounts: int = Field(2000, description="Accounts `ccs demo` generates into an empty database.")
    seed: int = Field(1, description="Seed of the demo data.")
    password: SecretStr | None = Field(
        None,
        description="Password of the demo agents and supervisor. Unset: made once, kept in "
        "the data folder and printed at start.",
    )
    calls_per_second: float = Field(0.05, description="Simulated inbound calls per second.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CCS_", env_nested_delimiter="__", extra="ignore"
    )

    log_level: str = Field("INFO", description="Logging level.")
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or as one JSON object a line (`json`: time, "
        "level, logger, message) for a log collector.")
    event_loop: Literal["priority", "uvloop", "asyncio"] = Field(
        "priority", description="The server's event loop: `priority` (the standard library's, "
        "reading the PBX's socket before other queued work and polling at least every "
        "millisecond: the loaded pop's p99 about a fifth lower than on uvloop, for about 7 % "
        "more CPU; ccs/priority_loop.py, BENCHMARKS.md), `uvloop` (libuv: the least CPU) or "
        "`asyncio` (the standard library's as it is).")
    local: LocalSettings = LocalSettings()
    postgres: PostgresSettings = PostgresSettings()
    redis: RedisSettings = RedisSettings()
    ami: AmiSettings = AmiSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    http: HttpSettings = HttpSettings()
    auth: AuthSettings = AuthSettings()
    speech: SpeechSettings = SpeechSettings()
    ivr: IvrSettings = IvrSettings()
    readings: ReadingsSettings = ReadingsSettings()
    agents: AgentsSettings = AgentsSettings()
    supervisor: SupervisorSettings = SupervisorSettings()
    campaigns: CampaignSettings = CampaignSettings()
    demo: DemoSettings = DemoSettings()


def settings_rows(model: type[BaseModel] = Settings, prefix: str = "CCS_") -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every leaf setting, for the README table."""
    rows: list[tuple[str, str, str]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        variable = f"{prefix}{name.upper()}"
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(settings_rows(annotation, variable + "__"))
            continue
        default = field.get_default(call_default_factory=True)
        if hasattr(default, "get_secret_value"):
            default = "(secret)" if default.get_secret_value() else ""
        if isinstance(default, dict):
            default = ",".join(f"{k}={v}" for k, v in default.items())
        shown = "unset" if default in (None, "") else str(default)
        rows.append((variable, shown, field.description or ""))
    return rows


def settings_table() -> str:
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{v}` | `{d}` | {m} |" for v, d, m in settings_rows()]
    return "\n".join(lines)
