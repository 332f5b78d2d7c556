"""Client library and command line for fnplane.

`FunctionsClient` (blocking) and `AsyncFunctionsClient` (asyncio) manage functions over gRPC
and answer `Function`, `Token` and `Confirmation` records; failures raise the exceptions in
`fnplane.client.errors`.
"""

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
