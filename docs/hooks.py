"""MkDocs hooks (mkdocs.yml ``hooks:``): the CLI reference keeps click's ``\\b`` paragraphs as they print.

mkdocs-click copies each command's help into the page as Markdown and drops click's ``\\b`` marker, so a
paragraph that ``--help`` prints unwrapped (the run directory's layout, the examples) would be reflowed into
one line and its ``<model>`` read as HTML. This hook wraps mkdocs-click's generator so that each such
paragraph becomes a code block, as the terminal shows it. If mkdocs-click renames what is wrapped here, the
build stops with an AttributeError rather than render the help wrongly.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

NO_REWRAP = "\b"  # click's marker: the next paragraph is printed as written


def fence_unwrapped(lines: Iterator[str]) -> Iterator[str]:
    """Markdown lines with each ``\\b`` paragraph (up to the next empty line) fenced as ``text``."""
    fenced = False
    for line in lines:
        if line.strip() == NO_REWRAP:
            if fenced:
                yield "```"
            yield from ("", "```text")
            fenced = True
        elif fenced and not line.strip():
            yield from ("```", "")
            fenced = False
        else:
            yield line
    if fenced:
        yield "```"


def make_command_docs(**kwargs: Any) -> Iterator[str]:
    """mkdocs-click's ``make_command_docs`` (it passes keywords only) without the step that drops the ``\\b``
    lines, and with those paragraphs fenced."""
    from mkdocs_click import _docs

    return fence_unwrapped(_docs._recursively_make_command_docs(**kwargs))


def on_config(config: Any) -> Any:
    import mkdocs_click._extension as ext

    ext.make_command_docs = make_command_docs
    return config
