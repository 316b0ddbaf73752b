from pydantic import BaseModel, Field


class PostgresSettings(BaseModel):
    dsn: str | None = Field(
        None,
        description="PostgreSQL DSN. Unset: an embedded cluster in the local data folder.",
    )
    pool_min: int = Field(2, description="Connections the pool keeps open.")
    pool_max: int = Field(20, description="Most connections the pool opens.")
    command_timeout: float = Field(10.0, description="Seconds before a query is abandoned.")


class RedisSettings(BaseModel):
    url: str | None = Field(
        None, description="Redis URL. Unset: an embedded server in the local data folder."
    )
    key_prefix: str = Field("ccs", description="Prefix of every Redis key and channel.")
    card_cache_ttl: int = Field(30, description="Seconds a consumer card stays cached.")
