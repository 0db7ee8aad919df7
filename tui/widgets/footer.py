"""A footer that fits the width: the keys that matter most stay, the rest give way.

Textual's own footer lays every shown binding out in order and lets the row run off
the right edge, so at 120 columns the replay's End, Search, Outline and Back were
never seen. This one measures the keys, keeps them in each screen's order of
importance (the order of its BINDINGS), drops from the least important end, and
always keeps `? Help`, where every key of the screen is listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE_CELLS = 13  # "▏^p palette " docked on the right


@dataclass(frozen=True)
class FooterItem:
    """One key (or a group of keys shown as one) in the footer."""

    key: str
    display: str
    description: str
    action: str
    enabled: bool
    tooltip: str

    @property
    def cells(self) -> int:
        """Cells the item takes in a compact footer: key, space, description, margin."""
        return cell_len(self.display) + 1 + cell_len(self.description) + 1


def footer_items(screen) -> list[FooterItem]:
    """The shown bindings of `screen`, most important first: help, then the screen's own
    in BINDINGS order, then the app's and the focused widget's. Bindings of one group
    (`Binding.Group`) become one item, their keys side by side."""
    app = screen.app
    active = screen.active_bindings
    items: dict[str, FooterItem] = {}
    grouped: dict[str, list[tuple[Binding, bool, str]]] = {}
    order: list[str] = []
    for _key, (_node, binding, enabled, tooltip) in active.items():
        if not binding.show or binding.action == "app.command_palette":
            continue
        name = binding.group.description if binding.group else binding.action
        if name not in grouped:
            grouped[name] = []
            order.append(name)
        if all(b.action != binding.action for b, _e, _t in grouped[name]):
            grouped[name].append((binding, enabled, tooltip))
    for name in order:
        members = grouped[name]
        first, enabled, tooltip = members[0]
        if first.group is not None and len(members) > 1:
            display = "".join(app.get_key_display(b) for b, _e, _t in members)
            description = first.group.description
        else:
            display, description = app.get_key_display(first), first.description
        items[name] = FooterItem(
            first.key, display, description, first.action, enabled, tooltip or first.tooltip
        )
    own = [
        binding.group.description if binding.group else binding.action
        for bindings in screen._bindings.key_to_bindings.values()
        for binding in bindings
    ]
    rank = {name: i for i, name in enumerate(dict.fromkeys(own))}

    def importance(item_name: str) -> tuple[int, int]:
        if is_help(items[item_name]):
            return (0, 0)
        return (1, rank[item_name]) if item_name in rank else (2, order.index(item_name))

    return [items[n] for n in sorted(items, key=importance)]


def is_help(item: FooterItem) -> bool:
    return item.action in ("app.help", "help")


def fitted(items: list[FooterItem], width: int) -> list[FooterItem]:
    """The most important `items` that fit in `width` cells, in their given order."""
    kept, used = [], 0
    for item in items:
        if used + item.cells <= width:
            kept.append(item)
            used += item.cells
    return kept


class KeyFooter(Footer):
    """Footer whose keys fit the terminal; see the module docstring."""

    def __init__(self, **kw) -> None:
        super().__init__(compact=True, **kw)
        self._laid_for = 0

    def on_resize(self) -> None:
        if self.size.width != self._laid_for:
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        width = self.size.width or self.app.size.width
        self._laid_for = self.size.width
        palette = self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE
        items = footer_items(self.screen)
        kept = fitted(items, width - (PALETTE_CELLS if palette else 0))
        # Shown in the screen's order, help last.
        ordered = [i for i in kept if not is_help(i)] + [i for i in kept if is_help(i)]
        for item in ordered:
            yield FooterKey(
                item.key,
                item.display,
                item.description,
                item.action,
                disabled=not item.enabled,
                tooltip=item.tooltip,
            ).data_bind(compact=Footer.compact)
        if palette:
            try:
                _node, binding, enabled, tooltip = self.screen.active_bindings[
                    self.app.COMMAND_PALETTE_BINDING
                ]
            except KeyError:
                return
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )


def typing_into(screen, selector: str) -> bool:
    """Whether `screen`'s text box `selector` is open: then the screen's own keys wait, and
    keys typed right after `/` (which may reach the screen before the box has the focus)
    are the box's text."""
    from textual.widgets import Input

    return not screen.query_one(selector, Input).has_class("hidden")


def route_to_box(screen, selector: str, event, open_box) -> None:  # noqa: ANN001 (a Key event)
    """Open the box on `/` at once (a binding's action runs only after the keys already
    typed are handled), and hand a printable key that reached the screen while the box is
    open to the box (the box stops the keys it takes, so one that reaches the screen was
    not typed into it)."""
    from textual.widgets import Input

    if event.key == "slash" and not typing_into(screen, selector):
        open_box()
        event.stop()
        event.prevent_default()
        return
    if typing_into(screen, selector) and event.is_printable and event.character:
        box = screen.query_one(selector, Input)
        box.focus()
        box.insert_text_at_cursor(event.character)
        event.stop()
        event.prevent_default()
