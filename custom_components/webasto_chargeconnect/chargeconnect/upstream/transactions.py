"""Our transaction ids against the backend's: which of ours it knows, and under which id.

The backend answers StartTransaction with an id of its own; the link rewrites
``transactionId`` with this map, ours -> theirs going up (MeterValues, StopTransaction) and
theirs -> ours coming down (RemoteStopTransaction, SetChargingProfile). Decides:

- The backend's id is the integer it answered with (a bool is not one). A start it refused,
  or answered without a usable id, maps to None: the backend has no id for that transaction,
  so its MeterValues and StopTransaction are not forwarded.
- The last :data:`KEEP_FINISHED` finished transactions keep their mapping, so that a late
  RemoteStopTransaction still maps; older ones are forgotten.
"""

from __future__ import annotations

from collections import deque
from typing import Any

# How many finished transactions keep their id mapping.
KEEP_FINISHED = 10


def _backend_id(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


class TransactionMap:
    """Our transaction id -> the backend's (None: the backend refused or never knew it)."""

    def __init__(self) -> None:
        self._theirs: dict[int, int | None] = {}
        self._finished: deque[int] = deque()

    def __len__(self) -> int:
        return len(self._theirs)

    def __contains__(self, ours: int) -> bool:
        return ours in self._theirs

    def theirs(self, ours: int) -> int | None:
        """The backend's id for our transaction, if it gave one."""
        return self._theirs.get(ours)

    def ours(self, theirs: Any) -> int | None:
        """Our id for the backend's transaction ``theirs`` (None: not one we know)."""
        theirs = _backend_id(theirs)
        if theirs is None:
            return None
        for ours, mapped in self._theirs.items():
            if mapped == theirs:
                return ours
        return None

    def started(self, ours: int, answer: dict[str, Any] | None) -> None:
        """The backend answered our StartTransaction (None: with a CallError, or not at all)."""
        self._theirs[ours] = _backend_id(answer.get("transactionId")) if answer else None

    def finish(self, ours: int) -> None:
        """Our transaction ended upstream; the oldest finished ones beyond the few are forgotten."""
        self._finished.append(ours)
        while len(self._finished) > KEEP_FINISHED:
            self._theirs.pop(self._finished.popleft(), None)

    # ------------------------------------------------------------ persistence
    def clear(self) -> None:
        """Forget every mapping."""
        self._theirs.clear()
        self._finished.clear()

    def load(self, data: dict[str, Any]) -> None:
        """Add what :meth:`to_storage` wrote."""
        for ours, theirs in (data.get("transactions") or {}).items():
            self._theirs[int(ours)] = theirs if isinstance(theirs, int) else None
        self._finished.extend(int(t) for t in data.get("finished", []) if int(t) in self._theirs)

    def to_storage(self) -> dict[str, Any]:
        """The map as JSON: ``{"transactions": {ours: theirs}, "finished": [ours, ...]}``."""
        return {
            "transactions": {str(k): v for k, v in self._theirs.items()},
            "finished": list(self._finished),
        }
