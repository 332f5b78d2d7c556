"""Client library and command line for fnplane.

`FunctionsClient` (blocking) and `AsyncFunctionsClient` (asyncio) manage functions over gRPC
and answer `Function`, `Token` and `Confirmation` records; failures raise the exceptions in
`fnplane.client.errors`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fnplane.client.aio import AsyncFunctionsClient
    from fnplane.client.errors import (
        AlreadyExists,
        DeadlineExceeded,
        FieldViolation,
        FnplaneError,
        InvalidArgument,
        InvalidOption,
        NotFound,
        PermissionDenied,
        Unauthenticated,
        Unavailable,
    )
    from fnplane.client.functions import FunctionsClient
    from fnplane.client.models import Confirmation, Function, Token

# Where each public name lives. They are imported when first used, not with the package: the
# `fnplane` command line lives in this package too, and `fnplane up` or `fnplane serve` would
# otherwise load the whole client (gRPC, asyncio) before starting anything.
_HOMES = {
    "AsyncFunctionsClient": "fnplane.client.aio",
    "FunctionsClient": "fnplane.client.functions",
    "Confirmation": "fnplane.client.models",
    "Function": "fnplane.client.models",
    "Token": "fnplane.client.models",
    **dict.fromkeys(
        [
            "AlreadyExists",
            "DeadlineExceeded",
            "FieldViolation",
            "FnplaneError",
            "InvalidArgument",
            "InvalidOption",
            "NotFound",
            "PermissionDenied",
            "Unauthenticated",
            "Unavailable",
        ],
        "fnplane.client.errors",
    ),
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])


__all__ = [
    "AlreadyExists",
    "AsyncFunctionsClient",
    "Confirmation",
    "DeadlineExceeded",
    "FieldViolation",
    "FnplaneError",
    "Function",
    "FunctionsClient",
    "InvalidArgument",
    "InvalidOption",
    "NotFound",
    "PermissionDenied",
    "Token",
    "Unauthenticated",
    "Unavailable",
]
