"""The HTTP edge: routes, authentication, body decoding, rendering and wire conventions."""
