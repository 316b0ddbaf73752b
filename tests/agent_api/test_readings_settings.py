"""The readings section of the settings reaches the IVR that validates callers' readings."""
from decimal import Decimal

from ccs.app import create_app
from agent_api.app_keys import IVR_APP
from ccs.settings import Settings
from state.readings import ReadingLimits


def test_when_readings_settings_are_in_the_environment_then_the_limits_follow(monkeypatch):
    monkeypatch.setenv("CCS_READINGS__CONSUMPTION_FACTOR", "2.5")
    monkeypatch.setenv("CCS_READINGS__MONTHLY_FLOORS", '{"electricity": 50}')
    monkeypatch.setenv("CCS_READINGS__ROLLOVER_MAX_SHARE", "0.25")
    limits = ReadingLimits.from_settings(Settings().readings)
    assert (limits.factor, dict(limits.monthly_floors), limits.rollover_max_share) == (
        Decimal("2.5"), {"electricity": Decimal(50)}, Decimal("0.25"),
    )


async def test_when_the_server_runs_the_ivr_then_it_validates_with_the_readings_settings(
    aiohttp_client, app_settings
):
    settings = app_settings.model_copy(update={
        "ivr": app_settings.ivr.model_copy(
            update={"enabled": True, "agi_port": 0, "audiosocket_port": 0}),
        "readings": app_settings.readings.model_copy(update={"consumption_factor": 1.5}),
    })
    app = create_app(settings)
    await aiohttp_client(app)
    assert app[IVR_APP].deps.limits.factor == Decimal("1.5")
