"""What every resource shares: its client, and the helpers that keep the methods one-liners."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional

if TYPE_CHECKING:
    from .._base_client import BaseClient


class APIResource:
    def __init__(self, client: "BaseClient") -> None:
        self._client = client


def idempotency(key: Optional[str]) -> Optional[Dict[str, str]]:
    """Headers for a caller's own Idempotency-Key (else the client makes one per call)."""
    return {"Idempotency-Key": key} if key else None


def body_of(params: Dict[str, Any]) -> Dict[str, Any]:
    return dict(params)
