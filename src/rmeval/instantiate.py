"""``hydra.utils.instantiate`` with errors in the project's one-line form.

Hydra wraps whatever a constructor raises in a three-line ``InstantiationException`` ("Error in call to target
..., full_key: ..."). ``build`` unwraps it: an expected error (a missing model folder, a bad setting the class
checks) comes out as itself, anything else as a ``BuildError`` naming what was built, the class and the cause.
"""

from __future__ import annotations

import logging
from typing import Any

from rmeval.errors import RmevalError, one_line

log = logging.getLogger(__name__)


class BuildError(RmevalError):
    """An object named by ``_target_`` could not be built from its YAML; one line: what, which class, why."""


def build(node: Any, what: str) -> Any:
    """``instantiate(node, _convert_="all")``; ``what`` names the object in errors (e.g. ``rm tiny``)."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(node, _convert_="all")
    except InstantiationException as err:
        raise unwrap(err, what, node.get("_target_") if isinstance(node, dict) else None) from err


def unwrap(err: BaseException, what: str, target: str | None = None) -> BaseException:
    """The innermost cause of nested instantiation errors, or a one-line ``BuildError`` for an unexpected one."""
    from hydra.errors import InstantiationException

    cause: BaseException = err
    while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
        cause = cause.__cause__
    if isinstance(cause, RmevalError):
        return cause
    log.debug("%s: build failed", what, exc_info=cause)
    where = f" ({target})" if target else ""
    if isinstance(cause, InstantiationException):  # hydra's own: target not found, not callable
        message = one_line(str(cause).split("full_key:")[0])
        return BuildError(f"{what}{where}: {message}")
    return BuildError(f"{what}{where}: {type(cause).__name__}: {one_line(cause)}")
