"""The Textual app. Never runs a query or an HTTP request on the UI thread: workers do."""
