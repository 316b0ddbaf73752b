"""The one settings class: every section of every package, read from ``CCS_*`` variables.

``CCS_AMI__HOST`` sets ``settings.ami.host``; the README table lists every field. This is the
only module that reads the environment.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent_api.settings import AuthSettings, HttpSettings
from cti.settings import AmiSettings, SimulatorSettings
from ivr.settings import IvrSettings
from speech.settings import SpeechSettings
from state.settings import PostgresSettings, RedisSettings


class LocalSettings(BaseModel):
    data_dir: Path = Field(
        Path(".data"),
        description="Folder of the embedded PostgreSQL and Redis (demo and tests).",
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CCS_", env_nested_delimiter="__", extra="ignore"
    )

    log_level: str = Field("INFO", description="Logging level.")
    local: LocalSettings = LocalSettings()
    postgres: PostgresSettings = PostgresSettings()
    redis: RedisSettings = RedisSettings()
    ami: AmiSettings = AmiSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    http: HttpSettings = HttpSettings()
    auth: AuthSettings = AuthSettings()
    speech: SpeechSettings = SpeechSettings()
    ivr: IvrSettings = IvrSettings()
