"""Screens pushed over the main view (drill-down, help, confirmations)."""
