"""One module per subcommand: ``add_arguments(parser)``, ``run(args) -> int``, ``EXAMPLES``."""
