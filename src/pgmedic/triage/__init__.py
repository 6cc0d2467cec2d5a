"""Pure domain logic on Snapshots: no I/O, no psycopg, no Textual."""
