"""`ORDER_ID`, the order id in a route's path: one rule for an id with a control character.

An order id never holds a control (or any other unprintable) character, and PostgreSQL refuses a
NUL in a string: `/kco/checkout/abc%00def` used to reach the store and end in a 500. A route that
declares its id as `ORDER_ID` (`{order_id:order_id}`) gets, for such an id, the id with those
characters escaped (`abc\\x00def`): printable, and the id of no order. Every handler then answers
it as it answers any unknown order (after authenticating, with its own not-found: the API's 404
in the vendor's shape, the hosted page's not-found page), without a check of its own, and the
store never sees the character.

Starlette looks convertors up when a route is declared, so this module registers its convertor
when imported; the route tables import `ORDER_ID` from here.
"""

from __future__ import annotations

from typing import Final

from starlette.convertors import Convertor, register_url_convertor

CONVERTOR: Final = "order_id"
ORDER_ID: Final = "{order_id:" + CONVERTOR + "}"


class OrderIdConvertor(Convertor[str]):
    """A path segment, as Starlette's `str`; unprintable characters come escaped."""

    regex = "[^/]+"

    def convert(self, value: str) -> str:
        if value.isprintable():
            return value
        return value.encode("unicode_escape").decode("ascii")

    def to_string(self, value: str) -> str:
        assert "/" not in value, "May not contain path separators"
        assert value, "Must not be empty"
        return value


register_url_convertor(CONVERTOR, OrderIdConvertor())
