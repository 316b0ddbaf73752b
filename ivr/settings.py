from pydantic import BaseModel, Field, SecretStr


class IvrSettings(BaseModel):
    enabled: bool = Field(True, description="Run the FastAGI and AudioSocket servers.")
    agi_host: str = Field("127.0.0.1", description="FastAGI listen address.")
    agi_port: int = Field(4573, description="FastAGI listen port.")
    agi_token: SecretStr | None = Field(
        None,
        description="Shared secret the dialplan passes as the first AGI argument; unset: "
        "FastAGI peers are not checked (only for a loopback agi_host).",
    )
    audiosocket_host: str = Field("127.0.0.1", description="AudioSocket listen address.")
    audiosocket_port: int = Field(9092, description="AudioSocket listen port.")
    header_timeout: float = Field(5.0, description="Seconds a FastAGI peer has to send its header.")
    max_header_bytes: int = Field(16384, description="Largest FastAGI header accepted.")
    max_tries: int = Field(3, description="Tries a caller gets for each answer.")
    reply_timeout: float = Field(
        30.0, description="Seconds Asterisk has to answer a quick AGI command (not playback)."
    )
    audiosocket_max_frame_bytes: int = Field(
        8192, description="Largest AudioSocket payload accepted; bigger frames close the stream."
    )
    audiosocket_read_timeout: float = Field(
        5.0, description="Seconds without any AudioSocket frame before the stream is closed."
    )
    audiosocket_connect_timeout: float = Field(
        5.0, description="Seconds Asterisk has to connect to AudioSocket after EXEC AudioSocket."
    )
    listen_max_seconds: float = Field(
        10.0, description="Longest answer listened to, in seconds of caller audio."
    )
    listen_no_input_seconds: float = Field(
        4.0, description="Seconds of caller audio without speech: then the answer is silence."
    )
    listen_end_silence_seconds: float = Field(
        0.8, description="Silence after speech that ends an answer, in seconds of audio."
    )
    voice_rms_threshold: int = Field(
        500, description="RMS level of 16-bit audio above which a frame counts as speech."
    )
    dtmf_timeout_ms: int = Field(5000, description="Milliseconds to wait for each DTMF digit.")
    language: str = Field(
        "ru", description="Language of IVR prompts and number words: ru, en, or auto (channel)."
    )
    speech_language: str | None = Field(
        None,
        description="Language of speech grammars and number parsing (ru, en, ko); unset: the "
        "prompts' language. Must match the Vosk model.",
    )
    default_queue: str = Field("common", description="Queue for callers who ask for an operator.")
    intent_queues: dict[str, str] = Field(
        default_factory=lambda: {
            "readings": "readings",
            "balance": "billing",
            "debt": "debt",
            "outage": "outages",
            "identify": "frontdesk",
        },
        description="Queue per caller intent when the IVR hands the call to an operator.",
    )
    audiosocket_advertise: str | None = Field(
        None,
        description="Address Asterisk connects to for AudioSocket (host); unset: audiosocket_host.",
    )
