"""Command line: argument parsing, exit codes, wiring. No logic lives here.

``pgmedic [CONNINFO]`` opens the TUI; ``pgmedic <command> ...`` runs a subcommand. Each
subcommand is a module in ``pgmedic.commands`` with ``add_arguments(parser)`` and
``run(args) -> int``, imported only when used (``snapshot --json`` never loads Textual).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from pgmedic import __version__
from pgmedic.errors import EXIT_USAGE, InputError, PgmedicError, redact

#: subcommand -> (module, one-line description)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("pgmedic.commands.demo", "an embedded PostgreSQL with the article's incident, live"),
    "snapshot": ("pgmedic.commands.snapshot", "connections grouped by application and state, once"),
    "runbook": ("pgmedic.commands.runbook", "list, validate and run runbooks headless"),
    "terminate": ("pgmedic.commands.terminate", "terminate idle connections, previewed, audited"),
    "budget": ("pgmedic.commands.budget", "the pool budget math as a pre-deploy check"),
    "share": ("pgmedic.commands.share", "the incident summary to a chat webhook and Markdown"),
}

EPILOG = """\
commands:
{commands}

examples:
  pgmedic demo                                  the article's incident on an embedded server
  pgmedic postgresql://triage@db.internal/app   the TUI on a live server
  pgmedic -h db.internal -U triage app          psql-style flags work too
  pgmedic snapshot --json                       PGHOST, PGUSER, ~/.pgpass... as libpq reads them

Run `pgmedic COMMAND --help` for a command's options. Exit codes: 0 ok, 1 a check failed or
a post could not be delivered, 2 bad input or no connection.
"""


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2, and psql's -h for host."""

    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse echoes what was typed: a URI given to the wrong option may hold a password
        self.exit(EXIT_USAGE, f"pgmedic: {redact(message)} (see `{self.prog} --help`)\n")


def make_parser(command: str | None) -> ArgumentParser:
    if command is None:
        module = importlib.import_module("pgmedic.commands.tui")

        listing = "\n".join(f"  {name:<10} {desc}" for name, (_, desc) in COMMANDS.items())
        parser = ArgumentParser(
            prog="pgmedic", add_help=False,
            description="Triage PostgreSQL connection-slot exhaustion: who holds the slots, "
                        "the too-many-pools bug, safe termination, budget math, a chat summary.",
            epilog=EPILOG.format(commands=listing),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--version", action="version", version=f"pgmedic {__version__}")
    else:
        module = importlib.import_module(COMMANDS[command][0])
        parser = ArgumentParser(
            prog=f"pgmedic {command}", add_help=False,
            description=module.__doc__.strip().splitlines()[0] if module.__doc__ else None,
            epilog=getattr(module, "EXAMPLES", None),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    parser.add_argument("--help", action="help", help="show this help and exit")
    parser.add_argument("--config", dest="config_path", metavar="PATH",
                        help="config file (default: <config dir>/pgmedic/config.toml)")
    module.add_arguments(parser)
    parser.set_defaults(_run=module.run)
    return parser


#: options that may come before the command and take a value
GLOBAL_VALUE_OPTIONS = ("--config",)


def _split_command(argv: list[str]) -> tuple[str | None, list[str]]:
    """('snapshot', rest) when a command name is the first positional argument."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            return None, argv
        if arg in GLOBAL_VALUE_OPTIONS:
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        if arg in COMMANDS:
            return arg, argv[:i] + argv[i + 1:]
        return None, argv
    return None, argv


#: built-in defaults for settings the config file may also give (flags default to None)
DEFAULTS = {"refresh": 2.0, "read_only": False, "connect_timeout": 5, "statement_timeout": 5000}


def _apply_defaults(args: argparse.Namespace) -> None:
    for name, value in DEFAULTS.items():
        if hasattr(args, name) and getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("refresh", "connect_timeout", "statement_timeout"):
        given = getattr(args, name, None)
        if given is not None and given <= 0:
            raise InputError(f"--{name.replace('_', '-')} must be positive, not {given}")


def main(argv: Sequence[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    command, rest = _split_command(args_in)
    try:
        parser = make_parser(command)
        args = parser.parse_args(rest)
        from pgmedic.config import apply_config, load_config

        apply_config(args, load_config(args.config_path))
        _apply_defaults(args)
        return int(args._run(args))
    except PgmedicError as exc:
        # an error may quote what was typed: a password in it is masked, whatever the command
        print(f"pgmedic: {redact(exc.one_line())}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pgmedic: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug of ours: still one line, the traceback only on request
        if os.environ.get("PGMEDIC_DEBUG"):
            raise
        print(f"pgmedic: internal error: {type(exc).__name__}: {redact(str(exc))} "
              "(set PGMEDIC_DEBUG=1 for the traceback, and please report it)", file=sys.stderr)
        return 70


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
