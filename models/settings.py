"""dondoc's configuration, read once from the environment (prefix DONDOC_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting has a safe default for a single machine; production sets the URL."""

    model_config = SettingsConfigDict(env_prefix="DONDOC_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/dondoc.db",
        description="SQLAlchemy URL of dondoc's own database (SQLite file or PostgreSQL).",
    )
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=1_000)
    due_soon_working_days: int = Field(default=3, ge=0, le=30)
    open_horizon_days: int = Field(default=0, ge=0, le=366)
    calendar_overrides: Path | None = Field(
        default=None, description="YAML file of newly announced holidays and working days."
    )

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("DONDOC_DATABASE_URL must be sqlite:///FILE or postgresql+psycopg://…")
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url
