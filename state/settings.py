from pydantic import BaseModel, Field


class PostgresSettings(BaseModel):
    dsn: str | None = Field(
        None,
        description="PostgreSQL DSN. Unset: an embedded cluster in the local data folder.",
    )
    pool_min: int = Field(2, description="Connections the pool keeps open.")
    pool_max: int = Field(20, description="Most connections the pool opens.")
    pop_pool_max: int = Field(
        8, ge=1, le=100, description="Connections of the screen pop's own pool (its card "
        "lookups, one or two a call, made while the caller is in the IVR), so they never wait "
        "behind the answers, wrap-ups, reports and REST requests of the main pool (sharing it "
        "left pops seconds late at a hundred calls a second: BENCHMARKS.md).",
    )
    command_timeout: float = Field(10.0, description="Seconds before a query is abandoned.")
    acquire_timeout: float = Field(
        5.0,
        description="Seconds a request waits for a free pooled connection before it is "
        "answered 503 `database-unavailable`.",
    )


class RedisSettings(BaseModel):
    url: str | None = Field(
        None, description="Redis URL. Unset: an embedded server in the local data folder."
    )
    key_prefix: str = Field("ccs", description="Prefix of every Redis key and channel.")
    card_cache_ttl: int = Field(30, description="Seconds a consumer card stays cached.")
    max_connections: int = Field(
        50, ge=1, description="Most connections the server's Redis pool opens; more callers wait."
    )
    pool_timeout: float = Field(
        5.0, gt=0, description="Seconds a caller waits for a free pooled Redis connection."
    )
    socket_timeout: float = Field(
        2.0, gt=0, description="Seconds before a Redis connect or command is given up as down."
    )


class ReadingsSettings(BaseModel):
    """How plausible a meter reading must be to be accepted (README: "Meter readings")."""

    consumption_factor: float = Field(
        5.0, gt=0,
        description="A month's consumption may reach the meter's own average monthly "
        "consumption times this factor.",
    )
    monthly_floors: dict[str, float] = Field(
        default_factory=lambda: {
            "electricity": 300.0,
            "heating": 2.0,
            "hot_water": 10.0,
            "cold_water": 15.0,
        },
        description="Monthly consumption per service that is always plausible, however low "
        "the meter's average (an ordinary month after an empty one).",
    )
    default_monthly_caps: dict[str, float] = Field(
        default_factory=lambda: {
            "electricity": 3000.0,
            "heating": 10.0,
            "hot_water": 30.0,
            "cold_water": 50.0,
        },
        description="Largest plausible monthly consumption per service of a meter without "
        "usable history (its own or the replaced meter's).",
    )
    rollover_max_share: float = Field(
        0.5, gt=0, le=0.5,
        description="A reading below the previous one is a drum rollover only if the "
        "consumption it implies is under this share of the drum; else it is rejected.",
    )
    history_months: int = Field(
        12, ge=1, description="Months of accepted readings a meter's average is taken over."
    )
