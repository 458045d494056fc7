"""Command-line interface (thin: parse arguments, call the library, print)."""
