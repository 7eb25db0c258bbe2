"""The pushes the demo shop has received, kept in memory by the shop's app (lost on restart).

The log is bounded, since anyone may post to a shop's push URL: at most `MAX_ORDERS` orders, the
oldest forgotten first, and the last `MAX_PER_ORDER` pushes of each.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import datetime
from typing import Final

MAX_ORDERS: Final = 1000
MAX_PER_ORDER: Final = 50
MAX_ORDER_ID_LENGTH: Final = 100


class PushLog:
    """When pushes arrived, by order id."""

    def __init__(self) -> None:
        self._by_order: OrderedDict[str, deque[datetime]] = OrderedDict()

    def record(self, order_id: str, at: datetime) -> None:
        arrived = self._by_order.pop(order_id, None) or deque(maxlen=MAX_PER_ORDER)
        arrived.append(at)
        self._by_order[order_id] = arrived
        while len(self._by_order) > MAX_ORDERS:
            self._by_order.popitem(last=False)

    def for_order(self, order_id: str) -> list[datetime]:
        return list(self._by_order.get(order_id, ()))
