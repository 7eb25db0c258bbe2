"""The checkout order: its document, record, lifecycle and validation rules."""
