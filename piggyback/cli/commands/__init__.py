"""One module per command group. Each defines ``register(subparsers)``; its parser sets
``func(args, store) -> int`` (the exit code). ``cli.py`` loads every module listed here."""

MODULES = ["similar", "timeline", "cost", "check", "report", "coverage"]
