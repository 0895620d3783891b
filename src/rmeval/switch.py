"""A process-wide choice among named implementations: what a ``scoring.*`` knob (cpu_linear, cpu_kernels,
cpu_model) selects. ``rmeval.rms.build_rm`` sets them from the run's ``scoring`` group when a job builds an RM;
library callers may set them themselves."""

from __future__ import annotations


class Switch:
    """The first of ``choices`` until ``set`` picks another; an unknown name fails with one line naming the knob."""

    def __init__(self, knob: str, choices: tuple[str, ...]):
        self.knob, self.choices, self.value = knob, choices, choices[0]

    def set(self, name: str) -> None:
        if name not in self.choices:
            raise ValueError(f"{self.knob}: expected one of {', '.join(self.choices)}, got {name!r}")
        self.value = name

    def get(self) -> str:
        return self.value
