"""kco-sandbox: the Kustom Checkout platform on one machine, for development and CI."""

__version__ = "0.1.0"
