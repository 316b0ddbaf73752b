from pydantic import BaseModel, Field


class IvrSettings(BaseModel):
    agi_host: str = Field("127.0.0.1", description="FastAGI listen address.")
    agi_port: int = Field(4573, description="FastAGI listen port.")
    audiosocket_host: str = Field("127.0.0.1", description="AudioSocket listen address.")
    audiosocket_port: int = Field(9092, description="AudioSocket listen port.")
    header_timeout: float = Field(5.0, description="Seconds a FastAGI peer has to send its header.")
    max_header_bytes: int = Field(16384, description="Largest FastAGI header accepted.")
    max_tries: int = Field(3, description="Tries a caller gets for each answer.")
