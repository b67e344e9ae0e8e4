"""What a prep cache says of itself: ``meta.json`` (:class:`CacheMeta`) and ``prep_cache``'s answer."""

from __future__ import annotations

from typing import Any, TypedDict


class CacheMeta(TypedDict, total=False):
    """``meta.json``: what the cache holds and what made it (the cache exists once this file does)."""

    zoobench_cache: int  # CACHE_VERSION
    format: str  # npy or bin
    build_key: str  # the images (names, sizes, mtimes), preprocessing, format, chunk and decoder
    preprocess: dict[str, Any]  # Preprocess.to_dict()
    preprocess_hash: str
    dtype: str
    layout: str
    shape: list[int]
    count: int  # the rows that hold an image
    images: list[str]  # one file name per row
    skipped: list[list[str]]  # (name, reason)
    decoder: str
    decoder_fallbacks: dict[str, int]
    marks: list[Any]  # each row's file (name, size, mtime)


class PrepResult(CacheMeta, total=False):
    """``prep_cache``'s answer: the meta, and how it came to be."""

    status: str  # reused, built or resumed
    note: str | None
