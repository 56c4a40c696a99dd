"""Loopai for Python: execute Loop Apps and manage their programs over the Loopai HTTP API.

    from loopai import LoopaiClient
    LoopaiClient("spam-detector-001").execute({"text": "You won a FREE cruise"})["output"]  # 'spam'
"""

from ._version import __version__
from .client import DEFAULT_URL, LoopaiClient
from .errors import (
    AuthenticationError,
    ForbiddenError,
    LoopaiConnectionError,
    LoopaiError,
    LoopaiTimeoutError,
    NotFoundError,
    RateLimitError,
    ServerError,
    UnavailableError,
    ValidationError,
)

__all__ = [
    "__version__",
    "DEFAULT_URL",
    "LoopaiClient",
    "LoopaiError",
    "AuthenticationError",
    "ForbiddenError",
    "NotFoundError",
    "ValidationError",
    "RateLimitError",
    "UnavailableError",
    "ServerError",
    "LoopaiTimeoutError",
    "LoopaiConnectionError",
]
