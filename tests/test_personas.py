from pathlib import Path

import pytest

from agents.errors import UserError
from agents.personas import load_persona, load_personas, select_panel
from tests.conftest import GOOD_PERSONA


def test_bundled_panel_has_host_first_and_simulated_altman():
    personas = load_personas()
    assert list(personas)[0] == "host"
    assert set(personas) == {"host", "altman", "economist", "futurist"}
    altman = personas["altman"]
    assert altman.simulated and altman.label == "Sam Altman (simulated)"
    assert not personas["economist"].simulated


def test_missing_field_names_file_and_field(tmp_path: Path):
    path = tmp_path / "guest.yaml"
    path.write_text(GOOD_PERSONA.replace("stance: Compute is power.\n", ""), encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_persona(path)
    assert str(err.value) == f"{path}: field 'stance' is missing"


def test_unknown_field_is_refused(tmp_path: Path):
    path = tmp_path / "guest.yaml"
    path.write_text(GOOD_PERSONA + "mood: happy\n", encoding="utf-8")
    with pytest.raises(UserError, match="field 'mood' is not a persona field"):
        load_persona(path)


def test_bad_yaml_names_the_line(tmp_path: Path):
    path = tmp_path / "guest.yaml"
    path.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"line \d+"):
        load_persona(path)


def test_panel_selection_errors():
    personas = load_personas()
    with pytest.raises(UserError, match="unknown persona 'nobody'"):
        select_panel(personas, ["nobody"])
    with pytest.raises(UserError, match="at least one panelist"):
        select_panel(personas, ["host"])
    panel = select_panel(personas, ["economist"])
    assert [p.id for p in panel] == ["host", "economist"]
