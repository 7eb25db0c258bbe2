"""The demo shop: an example merchant with an app of its own, talking to the platform over HTTP."""
