"""Calls from the platform to the merchant's servers."""
