"""The Hosted Payment Page the shopper opens: the session page, its result page, its QR code."""
