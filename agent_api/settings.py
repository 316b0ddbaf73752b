import ipaddress
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator


class HttpSettings(BaseModel):
    host: str = Field("127.0.0.1", description="HTTP/Socket.IO listen address.")
    port: int = Field(8080, description="HTTP/Socket.IO listen port.")
    max_body_bytes: int = Field(1024 * 1024, description="Largest request body accepted.")
    web_dist: Path | None = Field(
        None, description="Folder of the built web pages (`npm run build` in `web/`). Unset: "
        "`web/dist` of the checkout.")
    metrics_token: SecretStr | None = Field(
        None, description="Token a Prometheus scraper sends (`Authorization: Bearer <token>`) "
        "to read `/metrics` without a user session; at least 32 bytes. Unset: no scrape token.")
    metrics_allow: list[str] = Field(
        default_factory=list,
        description="Client networks (CIDR, JSON list, e.g. [\"10.0.0.5/32\"]) that may read "
        "`/metrics` without a token. Empty by default: behind a reverse proxy on the same host "
        "every client would look like 127.0.0.1.")

    @field_validator("metrics_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("the metrics token must be at least 32 bytes")
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a network (CIDR): {network!r}") from exc
        return value


class AuthSettings(BaseModel):
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs session tokens (HS256), at least 32 bytes. Required for "
        "`ccs serve`; `ccs demo` makes one on first run and keeps it in the data folder.",
    )
    token_ttl: int = Field(12 * 3600, description="Seconds a session token is valid.")
    login_attempts_per_login: int = Field(
        5, ge=1, description="Failed logins allowed per login within `login_window` (then 429)."
    )
    login_attempts_per_address: int = Field(
        30, ge=1,
        description="Failed logins allowed per client address within `login_window` (then 429).",
    )
    login_window: int = Field(300, ge=1, description="Seconds over which failed logins count.")
    hash_workers: int = Field(
        2, ge=1, description="Threads that check passwords (bcrypt), apart from all other work."
    )
    hash_queue: int = Field(
        32, ge=1, description="Password checks that may wait for a thread; more answer 503."
    )
