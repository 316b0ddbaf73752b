from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class HttpSettings(BaseModel):
    host: str = Field("127.0.0.1", description="HTTP/Socket.IO listen address.")
    port: int = Field(8080, description="HTTP/Socket.IO listen port.")
    max_body_bytes: int = Field(1024 * 1024, description="Largest request body accepted.")
    web_dist: Path | None = Field(
        None, description="Folder of the built web pages (`npm run build` in `web/`). Unset: "
        "`web/dist` of the checkout.")


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
