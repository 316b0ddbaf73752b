import pytest
from pydantic import SecretStr

from ccs.settings import Settings


@pytest.fixture
def app_settings(pg_dsn, redis_server) -> Settings:
    settings = Settings()
    return settings.model_copy(
        update={
            "postgres": settings.postgres.model_copy(update={"dsn": pg_dsn}),
            "redis": settings.redis.model_copy(update={"url": redis_server.url}),
            "auth": settings.auth.model_copy(update={"secret_key": SecretStr("test-secret-key-0123456789-abcdefghij")}),
            # The Vosk model and the IVR ports are exercised by their own tests and the wiring test.
            "speech": settings.speech.model_copy(update={"enabled": False}),
            "ivr": settings.ivr.model_copy(update={"enabled": False}),
        }
    )
