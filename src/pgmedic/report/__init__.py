"""Incident summary and timeline -> Markdown, chat formats, JSON. Pure: no I/O."""
