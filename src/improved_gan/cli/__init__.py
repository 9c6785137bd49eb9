"""The ``improved-gan`` command line: one module per subcommand in ``commands/``."""
