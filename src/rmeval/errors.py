"""The one base class of expected errors: bad input or bad config, as opposed to a bug.

Every module raises a subclass of ``RmevalError`` for what a user can cause (a typo in a YAML, a malformed record,
a missing model folder), with a one-line message that names where the problem is, in the project's form::

    <file or object>: record <id>: field '<name>': <what is wrong>

The entry points catch ``RmevalError`` and print that line (exit 1, no traceback); anything else is a bug and
keeps its traceback. This module imports nothing of the project, so every layer may raise from it.
"""

from __future__ import annotations

import re


class RmevalError(ValueError):
    """An expected error: bad input or config, reported as one line naming the file, record and field."""


def one_line(text: object) -> str:
    """``str(text)`` with every run of whitespace (newlines included) collapsed to one space."""
    return re.sub(r"\s+", " ", str(text)).strip()
