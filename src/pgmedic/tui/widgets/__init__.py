"""Widgets of the main view."""
