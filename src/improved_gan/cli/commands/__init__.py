"""Subcommands, discovered by name.

Each module here defines ``register(subparsers)``, which adds its parser and
sets ``func`` (called with the parsed ``argparse.Namespace``; returns an exit
status or ``None``). The CLI parses and calls; the work lives in the library.
"""
