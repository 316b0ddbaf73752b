from pydantic import BaseModel, Field, SecretStr


class HttpSettings(BaseModel):
    host: str = Field("127.0.0.1", description="HTTP/Socket.IO listen address.")
    port: int = Field(8080, description="HTTP/Socket.IO listen port.")
    max_body_bytes: int = Field(1024 * 1024, description="Largest request body accepted.")


class AuthSettings(BaseModel):
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs session tokens. Required for `ccs serve`; "
        "`ccs demo` makes a random one per run.",
    )
    token_ttl: int = Field(12 * 3600, description="Seconds a session token is valid.")
