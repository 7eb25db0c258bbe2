"""The vendor's APIs and the sandbox control API: handlers and the renderers of their answers."""
