"""``rapport notes``: analyse a note from the command line."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from analytics.cli_context import cli_context
from analytics.nlp.analyzer import NoteAnalyzer, zone_of
from analytics.nlp.errors import NotesError
from analytics.nlp.suggestions import analysis_to_dict

app = typer.Typer(name="notes", help="Suggest meetings, calls, tasks and contacts from a note.", no_args_is_help=True)


@app.command("analyze")
def analyze(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="The note text ('-' reads standard input)."),
    now: str | None = typer.Option(None, "--now", "--as-of",
                                   help="Reference time, ISO 8601 (default: the current time)."),
    tz: str = typer.Option("UTC", "--tz", help="IANA time zone of the note, e.g. Europe/London."),
    lang: str = typer.Option("auto", "--lang", help="en, zh or auto."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Print the suggestions found in TEXT."""
    out = cli_context(ctx)
    if text == "-":
        text = typer.get_text_stream("stdin").read()
    try:
        zone = zone_of(tz)
        ref = datetime.fromisoformat(now) if now else datetime.now(zone)
    except (NotesError, ValueError) as err:
        raise typer.BadParameter(str(err)) from err
    try:
        result = NoteAnalyzer().analyze(text, now=ref, tz=tz, lang=lang)
    except NotesError as err:
        raise typer.BadParameter(str(err)) from err
    if as_json:
        typer.echo(json.dumps(analysis_to_dict(result), ensure_ascii=False, indent=2))
        return
    if not result.suggestions:
        out.console.print("no suggestions")
    for s in result.suggestions:
        when = s.start or s.due
        extra = [f"{when:%Y-%m-%d %H:%M %Z}" if when else "", f"owner={s.owner}" if s.owner else "",
                 ", ".join(s.attendees), s.subject or "" if s.kind != "issue" else ""]
        if s.contact is not None:
            extra.append(" ".join(str(v) for v in vars(s.contact).values() if v))
        out.console.print(f"[bold]{s.kind.value}[/bold] ({s.confidence:.2f}) {s.title}  "
                          + "  ".join(x for x in extra if x), highlight=False)
