"""``MODULE:ATTR`` references to an application (``--app``), and importing them.

Standard library only: the worker processes of ``--app-isolation process``
import the app with it, and load nothing of the server.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import ConfigError


def import_reference(reference: str) -> Any:
    """Import ``MODULE:ATTR`` and return the object it names.

    ``ATTR`` may name a factory ending in ``()`` (``pkg.web:create_app()``),
    called without arguments.

    Raises:
        ConfigError: the module does not import, has no such attribute, or
            the factory raised; one sentence naming the module, the attribute
            and the cause.
    """
    module_name, _sep, attr = reference.partition(":")
    call = attr.endswith("()")
    attr = attr.removesuffix("()")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # whatever the module raises while importing
        raise ConfigError(
            f"--app {reference}: module {module_name!r} does not import, so "
            f"{attr!r} cannot be served ({_cause(error)})"
        ) from None
    try:
        found: Any = getattr(module, attr)
    except AttributeError:
        raise ConfigError(
            f"--app {reference}: module {module_name!r} has no {attr!r}"
        ) from None
    if call:
        try:
            found = found()
        except Exception as error:  # whatever the factory raises
            raise ConfigError(
                f"--app {reference}: calling {attr!r} of module {module_name!r} "
                f"raised {_cause(error)}"
            ) from None
    return found


def _cause(error: BaseException) -> str:
    # One line: a multi-line message would not read as one sentence.
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
