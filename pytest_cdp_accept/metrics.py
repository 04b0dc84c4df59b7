"""Samples, and the small recorder interface the engine records through.

The engine (pages, pools) knows only :class:`Recorder`: ``record(name,
value)``. The plugin gives each test a :class:`MetricsRecorder` and points the
engine at it while the test runs; the gate reads the samples afterwards. No
CDP and no pytest here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol


class Recorder(Protocol):
    def record(self, name: str, value: float) -> None: ...


class _NullRecorder:
    def record(self, name: str, value: float) -> None:
        pass


NULL_RECORDER: Recorder = _NullRecorder()
"""Records nothing: what the engine uses outside a test."""


@dataclass(frozen=True)
class Sample:
    name: str
    value: float
    time: float
    """Wall-clock time (``time.time()``) when it was recorded."""


class MetricsRecorder:
    """A test's samples by name; thread-safe (stress runs record from several threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def __repr__(self) -> str:
        return f"<MetricsRecorder {len(self._samples)} samples of {sorted(self.names())}>"

    def record(self, name: str, value: float) -> None:
        """Record one sample (latencies in ms, memory in MB)."""
        if not name or not isinstance(name, str):
            raise ValueError(f"metric name must be a non-empty string, got {name!r}")
        sample = Sample(name, float(value), time.time())
        with self._lock:
            self._samples.append(sample)

    @contextmanager
    def timer(self, name: str) -> Iterator[None]:
        """Time the ``with`` block and record it in ms under ``name`` (also when it raises)."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.record(name, (time.perf_counter() - start) * 1000.0)

    def samples(self, name: str) -> list[float]:
        with self._lock:
            return [s.value for s in self._samples if s.name == name]

    def all_samples(self) -> list[Sample]:
        with self._lock:
            return list(self._samples)

    def by_name(self) -> dict[str, list[float]]:
        """Every metric's values, in recording order."""
        grouped: dict[str, list[float]] = {}
        for sample in self.all_samples():
            grouped.setdefault(sample.name, []).append(sample.value)
        return grouped

    def names(self) -> set[str]:
        with self._lock:
            return {s.name for s in self._samples}

    def __getitem__(self, name: str) -> list[float]:
        return self.samples(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()
