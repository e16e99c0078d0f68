"""compile, schema, init and stage (each: options → API → exit code); app.COMMANDS lists them."""

from __future__ import annotations

from pathlib import Path

import click

from mlform.cli.options import PATH_ARG


@click.command(name="compile")
@PATH_ARG
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when rendered files are stale.")
def compile_(path: Path, check: bool) -> int:
    """Render the specs: the DVC pipeline, cluster deployments and Prometheus rules."""
    from mlform import api
    from mlform.cli.output import print_diagnostics
    from mlform.compiler import diff

    compiled = api.compile(path, check=check)
    print_diagnostics(list(compiled.warnings))
    root = compiled.root
    for note in compiled.notes:
        click.echo(click.style("note: ", fg="cyan") + note)
    if check:
        for file in compiled.files:
            if file.path in compiled.changed:
                click.echo(diff(root, file))
        if compiled.changed:
            click.echo(
                click.style(
                    f"{len(compiled.changed)} rendered file(s) are stale: ", fg="red", bold=True
                )
                + ", ".join(compiled.changed)
                + "\nRun `mlform compile` and commit the result."
            )
            return 1
        click.echo(f"Rendered files are up to date ({len(compiled.files)} files).")
        return 0
    for file in compiled.files:
        state = "written" if file.path in compiled.changed else "unchanged"
        click.echo(f"  {file.path} ({state})")
    click.echo(f"Compiled {len(compiled.files)} files; {len(compiled.changed)} changed.")
    return 0


@click.group()
def schema() -> None:
    """JSON Schemas of the spec language, and what specs may name."""


@schema.command(name="export")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    default=Path("schemas"),
    show_default=True,
)
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when the files are stale.")
def schema_export(directory: Path, check: bool) -> int:
    """Write one JSON Schema per kind, and one for any document, into DIR."""
    from mlform.fsutil import write_all
    from mlform.schema_export import schemas

    generated = schemas()
    if check:
        stale = [
            n
            for n, t in generated.items()
            if not (directory / n).is_file() or (directory / n).read_text(encoding="utf-8") != t
        ]
        if stale:
            click.echo(
                f"Stale schemas in {directory}: {', '.join(stale)}. Run `mlform schema export`."
            )
            return 1
        click.echo(f"Schemas in {directory} are up to date.")
        return 0
    written = write_all((directory / name, text.encode()) for name, text in generated.items())
    click.echo(f"Wrote {len(generated)} schemas to {directory} ({len(written)} changed).")
    return 0


@schema.command(name="estimators")
def schema_estimators() -> int:
    """List the estimators a Training may name (scikit-learn classes skl2onnx converts)."""
    from mlform.catalog.estimators import lookup, names

    for name in names():
        info = lookup(name)
        assert info is not None
        click.echo(f"{name:32} {info.task:15} {info.path}")
    return 0


@click.command()
@click.argument("directory", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--example", help="Copy a shipped example (credit-risk, diabetes-regression).")
@click.option("--force", is_flag=True, help="Write into a folder that is not empty.")
@click.option("--no-git", is_flag=True, help="Do not run git init and dvc init.")
@click.option(
    "--subproject",
    is_flag=True,
    help="Inside another git repository: a folder of it, not a repository of its own "
    "(nothing is staged or committed there).",
)
@click.option(
    "--ci",
    type=click.Choice(["github", "gitlab"]),
    help="Write a CI workflow (into an existing project too).",
)
@click.option("--env", "environment", help="The environment the CI workflow applies.")
def init(
    directory: Path,
    example: str | None,
    force: bool,
    no_git: bool,
    subproject: bool,
    ci: str | None,
    environment: str | None,
) -> int:
    """Create a new spec repository in DIRECTORY (or a copy of an example), with git and DVC."""
    from mlform.ci import refuse_unsafe
    from mlform.scaffold import init as run
    from mlform.scaffold import write_ci

    if ci:  # before anything is created
        refuse_unsafe(project=directory.name, environment=environment)
    if ci and (directory / "mlform.yaml").exists():  # add CI to an existing project
        path = write_ci(directory, ci, environment)
        click.echo(f"Wrote {path}.")
        return 0
    created = run(directory, example=example, force=force, vcs=not no_git, subproject=subproject)
    if ci:
        created.append(str(write_ci(directory, ci, environment)))
    click.echo(
        f"Created {len(created)} files in {directory}. Next: `cd {directory} && mlform validate`."
    )
    return 0


@click.command(hidden=True)
@click.argument(
    "step",
    type=click.Choice(
        ["clean", "check", "profile", "split", "train", "evaluate", "export", "review"]
    ),
)
@click.argument("name")
@click.option(
    "--params", "params_file", type=click.Path(path_type=Path), default=Path("params.yaml")
)
def stage(step: str, name: str, params_file: Path) -> int:
    """Run one pipeline stage (what the generated dvc.yaml calls)."""
    from mlform.runtime.stages import run_stage

    return run_stage(step, name, params_file)
