"""The Compose panel: a composition expression (`poe_engine.expression`) in place of the
Experts and Reward panels. The text is parsed as it is typed (its canonical form and its
branches, or the error and where it is); a row a term switches it off or weighs it (a
region's beta and tau too) by rewriting the text, which stays the one source of truth;
presets give the gallery's compositions. The panel emits a valid expression when the
user commits one (Enter, leaving the field, a preset, a row); the window decides what it
means (the next run's, or a change to the running one)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from poe_engine.expression import MAX_WEIGHT, ExpressionError, branches, canonical, parse, showcase

from ..model.composition import Term, edited, terms, without
from ..qt_utils import breakable, signals_blocked

TOGGLE_TEXT = "Compose: run this expression instead of the Experts and Reward panels"
PRESETS_PLACEHOLDER = "Presets…"
DEFAULT_TEXT = showcase()["a sphere with a hole"]
WEIGHT_LIMIT = MAX_WEIGHT - 0.01
EXCERPT = 24  # characters of the text shown around an error (a line that cannot wrap)


class ComposePanel(QWidget):
    expressionChanged = Signal(str)  # a valid canonical expression the user committed
    composeToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composePanel")
        self.full = None  # the parsed expression with every term, those switched off too
        self.off: set[int] = set()  # the terms switched off
        self.text: str | None = None  # the valid canonical text shown, None on an error
        self.error: ExpressionError | None = None
        self.committed: str | None = None  # the last text emitted
        self.rows: list[tuple[Term, QCheckBox, QDoubleSpinBox, list[QDoubleSpinBox]]] = []
        layout = QVBoxLayout(self)
        self.toggle = QCheckBox(TOGGLE_TEXT.replace(" of the", "\nof the"))  # narrow docks
        self.toggle.setObjectName("composeToggle")
        self.toggle.setToolTip("Runs sample the expression's product (and its mixture, for "
                               "'|'); the Experts and Reward panels are not used")
        self.toggle.toggled.connect(self.composeToggled)
        self.presets = QComboBox()
        self.presets.setObjectName("composePresets")
        self.presets.addItem(PRESETS_PLACEHOLDER)
        for name, text in showcase().items():
            self.presets.addItem(name, text)
            self.presets.setItemData(self.presets.count() - 1, text, 3)  # its tooltip
        self.presets.setToolTip("The gallery's compositions")
        self.presets.activated.connect(self._preset)
        self.edit = QLineEdit()
        self.edit.setObjectName("composeEdit")
        self.edit.setPlaceholderText("e.g. sphere & color & (red | blue)")
        self.edit.setToolTip("& AND (a product), | OR (a mixture), ! NOT, ~ soft complement, "
                             "NUM*term a weight; flows x y z color sphere, torus(R, r), "
                             "union(...), cap(z > 0.75), band(z, lo, hi), ball(cx, cy, cz, r), "
                             "colours. Enter puts it in force (during a run, from the next step)")
        self.edit.textEdited.connect(self._typed)
        self.edit.editingFinished.connect(self.commit)
        self.status = QLabel()
        self.status.setObjectName("composeStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.terms_box = QWidget()
        self.terms_box.setObjectName("composeTerms")
        box_layout = QVBoxLayout(self.terms_box)
        box_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_widget: QWidget | None = None  # made anew for each expression
        self.grid = QGridLayout()
        for widget in (self.toggle, self.presets, self.edit, self.status, self.terms_box):
            layout.addWidget(widget)
        layout.addStretch(1)
        self.set_expression(DEFAULT_TEXT)

    # ------------------------------------------------------------------ what it holds
    def is_composing(self) -> bool:
        return self.toggle.isChecked()

    def expression(self) -> str | None:
        """The valid canonical expression shown, or None (the field holds an error)."""
        return self.text

    def set_expression(self, text: str, emit: bool = False) -> bool:
        """Put `text` in the field (parsed, its rows rebuilt); `emit`: as if the user
        committed it. Whether it parses."""
        self.edit.setText(text)
        self._typed(text)
        if emit:
            self.commit()
        return self.text is not None

    def show_in_force(self, text: str) -> None:
        """A run put `text` in force (a replayed change): the field says so, nothing emits."""
        with signals_blocked(self):
            self.set_expression(text)
        self.committed = self.text

    # ------------------------------------------------------------------ the user's doing
    def _preset(self, index: int) -> None:
        text = self.presets.itemData(index)
        if index > 0 and text:
            self.set_expression(text, emit=True)

    def _typed(self, text: str) -> None:
        """Live parsing: the status says what the text is; a valid text's terms as rows."""
        self.off.clear()
        try:
            self.full = parse(text)
        except ExpressionError as err:
            self.full, self.text = None, None
            self._show_error(text, err)
            return
        self._show_valid(canonical(self.full))
        self._rebuild_rows()

    def commit(self) -> None:
        """Enter or leaving the field: a valid text goes out (canonical); an error selects
        the offending character."""
        if self.text is None:
            if self.error is not None and self.edit.text():
                pos = min(self.error.position, len(self.edit.text()) - 1)
                self.edit.setSelection(max(pos, 0), 1)
            return
        if self.edit.text() != self.text:
            with signals_blocked(self.edit):
                self.edit.setText(self.text)
        if self.text != self.committed:
            self.committed = self.text
            self.expressionChanged.emit(self.text)

    def _row_changed(self, index: int) -> None:
        """A row changed: the text rewritten from the expression with every term."""
        term, box, weight, extra = self.rows[index]
        on = box.isChecked()
        self.off.discard(index) if on else self.off.add(index)
        beta, tau = (extra[0].value(), extra[1].value()) if extra else (None, None)
        self.full = edited(self.full, index, round(weight.value(), weight.decimals()), beta, tau)
        text = without(self.full, self.off)
        with signals_blocked(self.edit):
            self.edit.setText(text)
        try:
            self._show_valid(canonical(parse(text)))
        except ExpressionError as err:
            self.text = None
            self._show_error(text, err)
            return
        with signals_blocked(self.edit):
            self.edit.setText(self.text)
        self.commit()

    # ------------------------------------------------------------------ showing
    def _show_valid(self, text: str) -> None:
        self.text, self.error = text, None
        self.status.setToolTip("")
        count = len(branches(parse(text)))
        self.status.setText(f"<b>{html.escape(text, quote=False)}</b><br>{count} branch"
                            f"{'es' if count != 1 else ''}"
                            + (" (a mixture: the particles are split between them)"
                               if count > 1 else ""))

    def _show_error(self, text: str, err: ExpressionError) -> None:
        """The error, wrapped, over the text around it with a caret under the offending
        character: an excerpt of the text (a line of its own cannot wrap), the whole in the
        tooltip."""
        self.error = err
        at = min(err.position, len(text))
        start = max(0, min(at - EXCERPT // 2, len(text) - EXCERPT))
        before, after = "…" * (start > 0), "…" * (start + EXCERPT < len(text))
        excerpt = before + text[start:start + EXCERPT] + after
        caret = " " * (len(before) + at - start) + "^"
        message = html.escape(breakable(str(err)), quote=False)
        self.status.setText(f"<span style='color:#e57373'>{message}</span>"
                            f"<pre>{html.escape(excerpt, quote=False)}\n{caret}</pre>")
        self.status.setToolTip(f"{err}\n{text}")

    def _rebuild_rows(self) -> None:
        if self.rows_widget is not None:
            self.rows_widget.hide()
            self.rows_widget.deleteLater()
        self.rows_widget = QWidget()
        self.grid = QGridLayout(self.rows_widget)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.terms_box.layout().addWidget(self.rows_widget)
        self.rows = []
        found = terms(self.full) if self.full is not None else []
        if found:
            for col, head in enumerate(("term", "weight")):
                self.grid.addWidget(QLabel(f"<i>{head}</i>"), 0, col)
        for term in found:
            i = term.index
            box = QCheckBox(term.text)
            box.setObjectName(f"composeTermToggle_{i}")
            box.setChecked(i not in self.off)
            box.setToolTip("Switch this term off (the text loses it) or on again")
            weight = _spin(f"composeTermWeight_{i}", -WEIGHT_LIMIT if term.signed else 0.01,
                           WEIGHT_LIMIT, term.weight, 0.1,
                           "Its weight; negative: NOT" if term.signed else "Its weight")
            extra = []
            row = self.grid.rowCount()
            self.grid.addWidget(box, row, 0)
            self.grid.addWidget(weight, row, 1)
            if term.kind == "region":  # beta and tau on a line of their own, below
                extra = [_spin(f"composeTermBeta_{i}", 0.01, 999.0, term.beta, 0.5,
                               "beta: how strongly the region pulls (or pushes)"),
                         _spin(f"composeTermTau_{i}", 0.001, 1.0, term.tau, 0.01,
                               "tau: the width of the region's soft edge", 3)]
                line = QHBoxLayout()
                line.setContentsMargins(18, 0, 0, 0)
                for label, spin in zip(("β", "τ"), extra, strict=True):
                    line.addWidget(QLabel(label))
                    line.addWidget(spin)
                self.grid.addLayout(line, row + 1, 0, 1, 2)
            box.toggled.connect(lambda _, k=i: self._row_changed(k))
            for spin in (weight, *extra):
                spin.valueChanged.connect(lambda _, k=i: self._row_changed(k))
            self.rows.append((term, box, weight, extra))

    # ------------------------------------------------------------------ saved state
    def state(self) -> dict:
        return {"on": self.toggle.isChecked(), "text": self.edit.text()}

    def apply_state(self, values: dict) -> list[str]:
        """Set the switch and the text; returns the keys rejected (never raises)."""
        rejected = []
        if "text" in values:
            text = values["text"]
            if not isinstance(text, str) or len(text) > 2000:
                rejected.append("text")
            else:
                self.set_expression(text)
                self.committed = self.text
        if "on" in values:
            if isinstance(values["on"], bool):
                self.toggle.setChecked(values["on"])
            else:
                rejected.append("on")
        return rejected


def _spin(name: str, low: float, high: float, value: float, step: float, tip: str,
          decimals: int = 2) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setObjectName(name)
    spin.setDecimals(decimals)
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    spin.setMaximumWidth(90)
    return spin
