"""The outbound edge: every HTTP call the platform makes to a merchant, and the delivery loop."""
