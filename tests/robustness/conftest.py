"""Robustness tests (issue 9): a full server, least privilege, a slow or locked server,
hostile data, fuzzed input. Servers of their own where a test fills slots or locks catalogs,
so the session's shared server is never disturbed. ``build_app`` is in the root conftest."""
