"""The hosted checkout page in its iframe: routes, steps, forms, HTML and static files."""
