"""Settlements: when a day's money is paid out (`schedule`) and what a payout holds (`ledger`)."""
