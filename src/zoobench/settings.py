"""The shape every settings object of zoobench shares: a frozen dataclass, validated in ``__post_init__``, built
once from keyword options (an unknown name is one line, not a TypeError), handed down whole, copied with changes.

A stage's public function takes its settings object, or, for a caller without one (the Python API, tests), the
same fields as keyword options: :meth:`Settings.given` turns either into the object.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from zoobench.errors import DataError

S = TypeVar("S", bound="Settings")


class Settings:
    """Base of a frozen settings dataclass; ``WHAT`` names it in messages (``unknown perf setting(s): …``)."""

    WHAT = "a"

    @classmethod
    def of(cls: type[S], **options: Any) -> S:
        """Settings from keyword options; an unknown name is one line (:class:`DataError`)."""
        known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        bad = sorted(set(options) - known)
        if bad:
            raise DataError(f"unknown {cls.WHAT} setting(s): {', '.join(bad)}")
        return cls(**options)

    @classmethod
    def given(cls: type[S], settings: S | None, options: dict[str, Any]) -> S:
        """``settings`` as given, else built from keyword ``options``; both at once is one line."""
        if settings is not None and options:
            raise DataError(f"pass either a {cls.__name__} or keyword options, not both")
        return settings if settings is not None else cls.of(**options)

    def _at_least(self, minimum: int, *names: str, whole: bool = False) -> None:
        """Each named field that is set (not None) is at least ``minimum`` (and, with ``whole``, an integer); else
        one line: ``chunk must be >= 1, got 0`` / ``min iters must be an integer >= 1, got 0.5``."""
        for name in names:
            value = getattr(self, name)
            if value is None:
                continue
            label = name.replace("_", " ")
            if whole and (not isinstance(value, int) or value < minimum):
                raise DataError(f"{label} must be an integer >= {minimum}, got {value!r}")
            if value < minimum:
                raise DataError(f"{label} must be >= {minimum}, got {value}")

    def but(self: S, **changes: Any) -> S:
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]
