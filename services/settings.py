"""dondoc's configuration, read once from the environment (prefix DONDOC_)."""

from __future__ import annotations

from datetime import date
from email.errors import MessageError
from email.headerregistry import Address
from pathlib import Path

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine

from models.errors import InputError
from models.files.holiday_cache import default_directory, package_days
from models.rules.ladder import DEFAULT_LADDER, Ladder
from models.rules.status import Day
from models.rules.workdays import PackageDays, WorkCalendar
from models.storage.db import make_engine, ready_engine

FEED_KEY_CHARS = 32
SECRETS = frozenset({"calendar_feed_key", "smtp_password"})


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
    entry_grace_working_days: int = Field(
        default=5,
        ge=0,
        le=60,
        description="Working days after a report arrived on paper, by e-mail or through the "
        "document system within which the lead office enters it without giving a reason.",
    )
    work_pool: str = Field(
        default="dondoc", description="Prefect work pool the form deployments run on."
    )
    project_dir: Path = Field(
        default_factory=Path.cwd,
        description="Where workers find dondoc's code and directive files.",
    )
    escalation: Ladder = Field(
        default_factory=lambda: list(DEFAULT_LADDER),
        description="The escalation ladder of directives that set none (JSON list of steps).",
    )
    smtp_host: str | None = Field(
        default=None, description="SMTP server for e-mail; unset or empty: no e-mail is sent."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")
    smtp_timeout: float = Field(
        default=30.0,
        gt=0,
        le=60,
        description="Seconds an SMTP connection waits for the server at any step; the first "
        "timeout ends the run's delivery.",
    )
    delivery_budget: float = Field(
        default=600.0,
        gt=0,
        description="Seconds one run may spend delivering; what is left waits for the next run.",
    )
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    mail_from: str = Field(default="dondoc@localhost", description="The From of every message.")
    reply_address: str | None = Field(
        default=None,
        description="Where units answer their reminders to hand in by e-mail (the mailbox "
        "dondoc reads, or its own receiver's); unset: the letters ask for the form alone.",
    )
    receiver_port: int = Field(
        default=2525,
        ge=1,
        le=65535,
        description="Port of dondoc's own SMTP receiver on 127.0.0.1 (the quickstart's).",
    )
    imap_host: str | None = Field(
        default=None, description="IMAP server of the reply mailbox; unset: no mailbox is read."
    )
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_user: str | None = None
    imap_password: SecretStr | None = None
    imap_folder: str = Field(default="INBOX", description="The reply mailbox's folder.")
    outbox_dir: Path | None = Field(
        default=None, description="Folder where every message is also written as an .eml file."
    )
    outputs_dir: Path = Field(
        default=Path("var/outputs"),
        description="Folder where consolidation writes its reports, matrices and workbooks.",
    )
    sign_in_url: str = Field(
        default="http://127.0.0.1:4200/dang-nhap",
        pattern=r"^https?://\S+$",
        description="The gate's sign-in page, as people reach it: the code letters link to it.",
    )
    gate_prefect_url: str = Field(
        default="http://127.0.0.1:4201",
        pattern=r"^https?://\S+$",
        description="The Prefect server the gate sends people's requests on to, where only the "
        "gate and the workers reach it.",
    )
    outputs_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S+/$",
        description="The address the outputs folder is served at (ending in /), to link files.",
    )
    calendar_feed_key: SecretStr | None = Field(
        default=None,
        description="The key each unit's calendar address is derived from (HMAC); unset: no "
        "feeds are written. At least 32 characters, from the environment only.",
    )
    anchor_dir: Path = Field(
        default=Path("var/anchors"),
        description="Folder, outside the database, where the daily run keeps the log's anchors.",
    )
    calendar_overrides: Path | None = Field(
        default=None, description="YAML file of newly announced holidays and working days."
    )
    cache_dir: Path = Field(
        default_factory=default_directory,
        description="Folder for what dondoc can work out again, the holidays package's answers "
        "(default $XDG_CACHE_HOME/dondoc or ~/.cache/dondoc).",
    )
    _engine: Engine | None = PrivateAttr(default=None)

    @field_validator("smtp_host", "smtp_user", "reply_address", "imap_host", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # `DONDOC_SMTP_HOST=` in an env file means "no SMTP", not a server named "".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("calendar_feed_key")
    @classmethod
    def _strong_key(cls, value: SecretStr | None) -> SecretStr | None:
        # the addresses are as hard to guess as the key: no placeholder, no short word
        if value is not None and len(value.get_secret_value().strip()) < FEED_KEY_CHARS:
            raise ValueError(
                f"must be at least {FEED_KEY_CHARS} characters; make one with: python -c "
                "'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return value

    @field_validator("mail_from", "reply_address")
    @classmethod
    def _one_address(cls, value: str | None) -> str | None:
        # one plain ASCII address, read back as itself (dondoc@localhost too: no dot needed)
        if value is None:
            return None
        try:
            plain = value.isascii() and Address(addr_spec=value).addr_spec == value
        except (ValueError, IndexError, MessageError):  # what the address parser raises
            plain = False
        if not plain:
            raise ValueError("is not one plain e-mail address")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        try:
            url.encode("utf-8")  # bytes in another encoding come from the environment as surrogates
        except UnicodeEncodeError:
            raise ValueError("DONDOC_DATABASE_URL is not UTF-8 text") from None
        if not url.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("DONDOC_DATABASE_URL must be sqlite:///FILE or postgresql+psycopg://…")
        if url.startswith("postgresql://"):
            return "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    def engine(self) -> Engine:
        """The engine on dondoc's database with these settings, which `dondoc db upgrade` must
        have set up (DatabaseNotReady otherwise, with nothing created or written). Made once
        per settings object: a long-lived process (the gate) keeps one connection pool."""
        if self._engine is None:
            self._engine = ready_engine(
                self.database_url, busy_timeout_ms=self.sqlite_busy_timeout_ms
            )
        return self._engine

    def engine_to_upgrade(self) -> Engine:
        """An engine on dondoc's database as it is, for migrating it (an SQLite file that does
        not exist yet is created)."""
        return make_engine(self.database_url, busy_timeout_ms=self.sqlite_busy_timeout_ms)

    def status_day(self, day: date) -> Day:
        """The day statuses are judged on, with this installation's due-soon window."""
        return Day.of(day, self.calendar(), self.due_soon_working_days)

    def package_days(self) -> PackageDays:
        """What the holidays package says of Vietnam, from the cache folder when it knows."""
        return package_days(self.cache_dir)

    def calendar(self) -> WorkCalendar:
        """Vietnam's working days, with the local override file if one is configured."""
        if self.calendar_overrides is None:
            return WorkCalendar(package=self.package_days())
        # the override file is YAML: its reader is loaded only where one is configured
        from models.files.calendar import read_calendar

        return read_calendar(self.calendar_overrides, package=self.package_days())


def load_settings() -> Settings:
    """The settings from the environment; a bad value is an InputError naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "*"
        # a secret, even a refused one, is printed nowhere
        value = None if name in SECRETS else first.get("input")
        raise InputError("environment", f"DONDOC_{name.upper()}", value, first["msg"]) from None
