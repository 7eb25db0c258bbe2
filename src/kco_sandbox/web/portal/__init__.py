"""The merchant portal at `/portal`: a merchant signs in with its API credentials and sees its
orders, each order's timeline, the journal of calls and callbacks, and runs the order lifecycle
and the sandbox controls by hand. Server-rendered (Jinja2, escaped by default), usable without
JavaScript; docs/portal.md shows it.

Rooms: `session` (sign-in cookie, form tokens, throttling), `render` (templates and the headers
every page carries), `routes` (the table of contents), and a module per page or group of actions.
"""
