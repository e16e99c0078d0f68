"""The command line: click parses, the API works, one boundary maps outcomes to exit codes.

Exit codes: 0 success, 1 invalid input or a refused operation (a located message), 2 usage
error (click's), 3 an unexpected error (a short, paste-ready bug report; the traceback goes
to a file), 130 interrupted.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import NoReturn

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
# OSErrors about a named file that come from the machine, not from mlform
_ENVIRONMENT = frozenset(
    {
        errno.ENAMETOOLONG,
        errno.EACCES,
        errno.EPERM,
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.ELOOP,
        errno.EMFILE,
        errno.EEXIST,  # a file where a folder was asked for (and the reverse)
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENOENT,  # a folder given on the command line that is not there
    }
)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the `mlform` console script."""
    # mlform uses no pydantic plugin; without this, pydantic scans every installed
    # distribution's entry points the first time a spec kind is validated (start-up of
    # every spec-reading command, issue 12). Only the command line sets it, and only when
    # unset: PYDANTIC_DISABLE_PLUGINS= (empty) keeps plugins on; the API leaves it alone.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    import click

    from mlform.cli.app import cli
    from mlform.errors import SpecInvalid, UserError

    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    try:
        code = cli.main(args=argv, prog_name="mlform", standalone_mode=False)
    except SpecInvalid as invalid:
        if invalid.diagnostics:
            from mlform.cli.output import print_diagnostics

            print_diagnostics(invalid.diagnostics)
            errors = sum(1 for d in invalid.diagnostics if d.severity.value == "error")
            click.echo(
                click.style(
                    f"Found {errors} error{'s' if errors != 1 else ''} in the specs; nothing was changed.",
                    fg="red",
                    bold=True,
                )
            )
        code = EXIT_INVALID
    except UserError as exc:
        from mlform.printable import lines

        click.echo(click.style("Error: ", fg="red", bold=True) + lines(exc.message), err=True)
        if exc.hint:
            click.echo(lines(exc.hint), err=True)
        code = EXIT_INVALID
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        code = EXIT_OK
    except OSError as exc:
        code = _os_error(exc, argv)
    except Exception as exc:  # the one place an unexpected error is caught
        code = _bug(exc, argv)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def _os_error(exc: OSError, argv: list[str] | None) -> int:
    """The machine's limits or permissions on a named file: not a bug; say which file."""
    if exc.errno not in _ENVIRONMENT or exc.filename is None:
        return _bug(exc, argv)
    import click

    from mlform.workspace import shown

    name = shown(str(exc.filename), 100)
    click.echo(click.style("Error: ", fg="red", bold=True) + f"{name}: {exc.strerror}", err=True)
    return EXIT_INVALID


def _bug(exc: BaseException, argv: list[str] | None) -> int:
    import click

    from mlform.cli.bugreport import report_bug

    click.echo(report_bug(exc, argv if argv is not None else sys.argv[1:]), err=True)
    return EXIT_BUG
