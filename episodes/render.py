"""The two Jinja2 environments every page of `episodes` is rendered in, from the templates
under `episodes/templates/`.

HTML templates (`*.html.j2`) autoescape: every value they print is escaped as
`html.escape` escapes it (quotes too, `'` as `&#x27;`), unless a template marks it safe,
so a page reads as it did when it was built by hand. Markdown templates (`*.md.j2`) do
not: what must be escaped there is escaped by the `md` filter (`markdown_text`), and the
debate's own Markdown export prints its text as written.
"""

from __future__ import annotations

import html
import re
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&#])")


def markdown_text(text: str) -> str:
    """Text from a debate, a model or a file as Markdown that reads as that text: on one
    line, every character Markdown would act on (emphasis, links, code, HTML, tables)
    escaped, so "[draft] *Compute* <b>" shows as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _escaped(value: Any) -> Any:
    """A value an HTML template prints: text escaped as `html.escape` escapes it (markup
    the template built, `Markup`, as it is); anything else to autoescaping."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(html.escape(value))
    return value


def _environment(**options: Any) -> Environment:
    return Environment(
        loader=PackageLoader("episodes", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
        **options,
    )


@cache
def _html() -> Environment:
    return _environment(autoescape=True, finalize=_escaped)


@cache
def _markdown() -> Environment:
    env = _environment(autoescape=False)
    env.filters["md"] = markdown_text
    return env


def render(template: str, **values: Any) -> str:
    """`templates/<template>` filled with `values`: an `.html.j2` template escaped, an
    `.md.j2` one not."""
    env = _html() if template.endswith(".html.j2") else _markdown()
    return env.get_template(template).render(**values)
