"""What services raise when they refuse a request; the web layer turns it into a sentence."""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A request a user made that the rules do not allow; nothing was changed."""

    def __init__(self, code: str, status: int = 400, **params: Any):
        self.code = code
        self.status = status
        self.params = params
        super().__init__(code, params)
