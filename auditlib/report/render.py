"""Executed notebook → a readable HTML page and a PDF with real CJK text.

Why this toolchain: nbconvert's LaTeX PDF drops every Chinese character and
still exits 0, and ``--to webpdf`` needs a browser download this environment
cannot make. So the executed notebook is exported by nbconvert's *basic*
template with code hidden, wrapped in our own page (title page, CSS), and
printed by WeasyPrint (pure Python on Pango, installed from PyPI) with Noto
Sans CJK from Debian's ``fonts-noto-cjk`` — the same font file matplotlib is
given (:mod:`auditlib.report.charts`). Page numbers come from CSS ``@page``.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from auditlib.report.fonts import cjk_font_path

CSS = """
@font-face {{ font-family: "AuditCJK"; src: url("file://{font}"); }}
@page {{ size: A4; margin: 18mm 14mm 18mm 14mm;
  @bottom-center {{ content: counter(page) " / " counter(pages); font-size: 8pt; color: #666;
                    font-family: "AuditCJK", "Noto Sans CJK SC", sans-serif; }}
  @top-right {{ content: "{running}"; font-size: 7.5pt; color: #888;
                font-family: "AuditCJK", "Noto Sans CJK SC", sans-serif; }} }}
@page :first {{ @top-right {{ content: none; }} @bottom-center {{ content: none; }} }}
body {{ font-family: "AuditCJK", "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: 9.5pt;
        line-height: 1.45; color: #1d1d1f; }}
h1 {{ font-size: 17pt; color: #0b3d6e; border-bottom: 2px solid #0b3d6e; padding-bottom: 3pt; }}
h2 {{ font-size: 13pt; color: #0b3d6e; margin-top: 14pt; page-break-after: avoid; }}
h3 {{ font-size: 11pt; color: #23507c; page-break-after: avoid; }}
table {{ border-collapse: collapse; width: 100%; margin: 4pt 0 10pt 0; font-size: 8pt;
         page-break-inside: auto; }}
tr {{ page-break-inside: avoid; }}
th {{ background: #e8eef5; color: #0b3d6e; text-align: left; padding: 3pt 4pt;
      border-bottom: 1px solid #9fb3c8; }}
td {{ padding: 2.5pt 4pt; border-bottom: 0.5px solid #d5dde6; vertical-align: top;
      word-break: break-all; overflow-wrap: anywhere; }}
td.num, th.num {{ text-align: right; white-space: nowrap; }}
img {{ max-width: 100%; }}
.sev-critical {{ color: #fff; background: #8b0000; padding: 0 3pt; border-radius: 2pt; }}
.sev-high {{ color: #fff; background: #c0392b; padding: 0 3pt; border-radius: 2pt; }}
.sev-medium {{ color: #000; background: #f5b041; padding: 0 3pt; border-radius: 2pt; }}
.sev-low {{ color: #000; background: #d6eaf8; padding: 0 3pt; border-radius: 2pt; }}
.sev-info {{ color: #000; background: #eee; padding: 0 3pt; border-radius: 2pt; }}
.kpi {{ display: inline-block; margin: 0 12pt 6pt 0; padding: 5pt 9pt; border: 1px solid #c8d4e0;
        border-radius: 3pt; }}
.kpi b {{ font-size: 13pt; color: #0b3d6e; display: block; }}
.finding {{ border-left: 3px solid #9fb3c8; padding: 2pt 0 2pt 7pt; margin: 6pt 0;
            page-break-inside: avoid; }}
.muted {{ color: #666; font-size: 8pt; }}
.titlepage {{ page-break-after: always; padding-top: 55mm; }}
.titlepage h1 {{ font-size: 24pt; border: none; }}
.titlepage table {{ width: auto; font-size: 9pt; }}
.failed {{ color: #fff; background: #b00020; padding: 8pt; font-weight: bold; }}
pre {{ white-space: pre-wrap; font-size: 7.5pt; }}
.jp-OutputPrompt, .jp-InputPrompt, .prompt, .anchor-link {{ display: none; }}
"""


def notebook_body(nb_path: Path) -> str:
    """The notebook's outputs and markdown as HTML, code hidden."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(nb_path, as_version=4)
    exporter = HTMLExporter(template_name="basic", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def title_page(title: str, rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
    )
    return f'<section class="titlepage"><h1>{html.escape(title)}</h1><table>{cells}</table></section>'


def page(title: str, body: str, *, front: str = "", banner: str = "") -> str:
    font = cjk_font_path() or ""
    css = CSS.format(font=font, running=title.replace('"', "'"))
    return (
        "<!DOCTYPE html><html lang='zh'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{css}</style></head><body>"
        f"{banner}{front}{body}</body></html>"
    )


def write_pdf(page_html: str, out: Path) -> None:
    from weasyprint import HTML

    HTML(string=page_html, base_url=str(out.parent)).write_pdf(out)
