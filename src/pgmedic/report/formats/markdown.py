"""The summary as a Markdown report for the postmortem (GitHub-flavoured)."""

from __future__ import annotations

from pgmedic.report import escape
from pgmedic.report.formats._sections import clock, footer, headline, sections, title
from pgmedic.report.summary import Summary


def markdown(summary: Summary) -> str:
    esc = escape.markdown
    lines = [f"# {title(summary, esc)}", "", headline(summary, esc), ""]
    for sec in sections(summary, esc, checkbox=("- [x]", "- [ ]"), bullet="- "):
        lines.append(f"## {sec.title}")
        lines.append("")
        for line in sec.lines:
            listed = line.startswith("- ")
            lines.append(line if listed else f"- {line}")
        lines.append("")
    if summary.notes:
        lines += ["## Notes", ""]
        lines += [f"- {clock(at)} {esc(text)}" for at, text in summary.notes]
        lines.append("")
    if summary.timeline:
        lines += ["## Timeline", ""]
        lines += [f"- {clock(at)} {esc(kind)}: {esc(text)}" for at, kind, text in summary.timeline]
        lines.append("")
    lines.append(f"_{footer(summary, esc)}_")
    return "\n".join(lines) + "\n"
