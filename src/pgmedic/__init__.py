"""pgmedic: triage PostgreSQL connection-slot exhaustion from the terminal."""

__version__ = "0.1.0"
