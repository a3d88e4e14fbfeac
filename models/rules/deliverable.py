"""What a submission carries: the figures a directive asks for, with their bounds and targets,
a narrative and an evidence link; and the canonical JSON dondoc stores and hashes.

The directive files declare these and the obligation's rules check a submission against them.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from models.rules.text import trim


def _trimmed(value: Any) -> Any:
    return trim(value) if isinstance(value, str) else value


# Free text, trimmed of spaces and zero-width characters at its edges before it is checked
# (the validator wraps the limits that come before it): a title of only "\u200b" is empty.
TRIMMED = BeforeValidator(_trimmed)
Label = Annotated[str, Field(min_length=1, max_length=200), TRIMMED]  # shown in forms
# A bound or target: a number, not NaN or infinity (which would drop the bound), nor a boolean
# or a quoted number (`min: true` is no bound anyone meant).
Bound = Annotated[float | None, Field(allow_inf_nan=False, strict=True)]


class Strict(BaseModel):
    """Refuse unknown keys: a typo in a directive file must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Target(Strict):
    """A goal the figure should reach ("at least 1 programme a month"); not a validity bound."""

    at_least: Bound = None
    at_most: Bound = None

    @model_validator(mode="after")
    def _some_bound(self) -> Target:
        if self.at_least is None and self.at_most is None:
            raise ValueError("a target needs at_least or at_most")
        return self


class Figure(Strict):
    """One number (or short answer) the obliged unit reports."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    label: Label  # Vietnamese
    type: Literal["integer", "number", "text", "boolean"]
    unit: Annotated[str, Field(max_length=40), TRIMMED] | None = None  # đơn vị tính: "lớp"…
    min: Bound = None
    max: Bound = None
    required: bool = True
    target: Target | None = None

    @model_validator(mode="after")
    def _bounds_fit_type(self) -> Figure:
        numeric = self.type in ("integer", "number")
        if not numeric and (self.min is not None or self.max is not None or self.target):
            raise ValueError(f"a {self.type} figure takes no min, max or target")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self


class TextPart(Strict):
    """A narrative or an evidence link the unit adds to its submission."""

    label: Label
    required: bool = False


class Deliverable(Strict):
    """What a submission carries."""

    figures: list[Figure] = Field(default_factory=list)
    narrative: TextPart | None = None
    evidence: TextPart | None = None


# One encoder for every call: json.dumps with options builds a new one each time, and bulk
# writers encode a payload per event.
CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the form dondoc stores and hashes."""
    return CANONICAL.encode(value)


def nfc(value: Any) -> Any:
    """Normalise every string in a loaded structure to NFC, so composed and decomposed
    Vietnamese text typed on different machines compares equal."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list):
        return [nfc(v) for v in value]
    if isinstance(value, dict):
        return {nfc(k): nfc(v) for k, v in value.items()}
    return value
