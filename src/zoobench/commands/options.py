"""Options and value types that several commands share, each defined once."""

from __future__ import annotations

from typing import Any

import click


class ReferenceType(click.ParamType):
    """``TOP1`` or ``TOP1,TOP5``: reference accuracies in percent (0-100)."""

    name = "TOP1[,TOP5]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value is None or isinstance(value, tuple):
            return value
        parts = [p.strip() for p in str(value).split(",")]
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            self.fail(f"{value!r} is not TOP1 or TOP1,TOP5 (percentages, e.g. 78.4,94.1)", param, ctx)
        if len(nums) > 2 or not all(0 <= v <= 100 for v in nums):
            self.fail(f"{value!r}: give one or two percentages between 0 and 100 (TOP1[,TOP5])", param, ctx)
        return (nums[0], nums[1] if len(nums) == 2 else None)


reference_option = click.option(
    "--reference",
    type=ReferenceType(),
    default=None,
    help="Reference top-1 (and top-5), percent, for the gate. Default: the model's published figure "
    "(custom weights are then compared with the published checkpoint's figure, and the output says so).",
)
tolerance_option = click.option(
    "--tolerance", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
    help="Allowed |top-1 - reference|, percentage points.",
)  # fmt: skip
