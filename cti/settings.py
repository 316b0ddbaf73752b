from pydantic import BaseModel, Field, SecretStr

from cti.simulator.agent_phones import PhoneBehaviour


class AmiSettings(BaseModel):
    host: str | None = Field(
        None, description="Asterisk AMI host. Unset: `ccs demo` starts the PBX simulator."
    )
    port: int = Field(5038, description="Asterisk AMI port.")
    simulated: bool = Field(
        False, description="The PBX at host:port is the simulator (`ccs demo` sets it); "
        "/health says so.")
    username: str = Field("ccs", description="AMI user (manager.conf).")
    secret: SecretStr = Field(SecretStr(""), description="AMI secret (manager.conf).")
    ping_interval: float = Field(5.0, description="Seconds between keep-alive Pings.")
    ping_timeout: float = Field(3.0, description="Seconds without a Pong before the link is closed.")
    action_timeout: float = Field(5.0, description="Seconds an AMI action may wait for its response.")
    originate_timeout: float = Field(
        60.0, description="Seconds an async Originate may wait for its OriginateResponse."
    )
    reconnect_interval: float = Field(
        1.0, gt=0, description="Seconds between two connection attempts while the PBX is "
        "unreachable (each attempt is one TCP connect): the server is back within about this "
        "long after Asterisk opens its AMI port.")
    connect_timeout: float = Field(1.0, gt=0, description="Seconds a TCP connect to AMI may take.")
    reconnect_min: float = Field(
        0.5, description="First delay after a refused login or a session that failed before "
        "its resync, seconds (then doubling, with jitter).")
    reconnect_max: float = Field(
        30.0, description="Longest delay after refused logins or failed sessions, seconds.")


class SimulatorSettings(BaseModel):
    host: str = Field("127.0.0.1", description="Address the PBX simulator listens on.")
    port: int = Field(0, description="Port of the PBX simulator (0: any free port).")
    username: str = Field("ccs", description="AMI user the simulator accepts.")
    secret: SecretStr = Field(SecretStr("ccs-demo"), description="AMI secret the simulator accepts.")
    time_scale: float = Field(
        1.0, gt=0, description="Wall seconds per PBX second (0.1: the PBX runs 10x faster).")
    phones: PhoneBehaviour = Field(
        PhoneBehaviour(), description="The phones `ccs demo`'s simulator plays for the agents "
        "who log in from the desktop.")
