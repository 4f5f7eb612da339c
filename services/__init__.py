"""The application: one module per use case, the only code that opens a transaction."""
