from pathlib import Path

import pytest

from agents.personas import load_persona, load_personas, select_panel
from core.errors import UserError
from tests.conftest import GOOD_PERSONA

HOST_PERSONA = GOOD_PERSONA.replace("id: guest", "id: host").replace("role: panelist", "role: host")


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


def test_yml_and_yaml_files_load_and_other_files_are_named(tmp_path: Path):
    """A persona saved as .yml loads beside .yaml ones (any case); every other file of the
    folder is named in a warning instead of going missing without a word."""
    (tmp_path / "host.yaml").write_text(HOST_PERSONA, encoding="utf-8")
    (tmp_path / "guest.yml").write_text(GOOD_PERSONA, encoding="utf-8")
    (tmp_path / "third.YAML").write_text(
        GOOD_PERSONA.replace("id: guest", "id: third"), encoding="utf-8"
    )
    (tmp_path / "fourth.yaml.bak").write_text(GOOD_PERSONA, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ideas\n", encoding="utf-8")
    (tmp_path / "drafts").mkdir()
    skipped: list[str] = []
    personas = load_personas(tmp_path, on_skip=skipped.append)
    assert list(personas) == ["host", "guest", "third"]
    assert [p.id for p in select_panel(personas, ["guest"])] == ["host", "guest"]
    assert skipped == [
        f"{tmp_path / 'fourth.yaml.bak'}: not loaded: persona files end in .yaml or .yml",
        f"{tmp_path / 'notes.txt'}: not loaded: persona files end in .yaml or .yml",
    ]


def test_cli_warns_about_files_it_does_not_load(tmp_path: Path, capsys):
    from cli import main

    (tmp_path / "host.yaml").write_text(HOST_PERSONA, encoding="utf-8")
    (tmp_path / "guest.yml").write_text(GOOD_PERSONA, encoding="utf-8")
    (tmp_path / "guest.json").write_text("{}", encoding="utf-8")
    assert main(["personas", "--personas-dir", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "guest" in out and "Ada Guest" in out
    assert err == (
        f"debate: warning: {tmp_path / 'guest.json'}: not loaded: "
        "persona files end in .yaml or .yml\n"
    )


@pytest.mark.parametrize(
    "line, number, field, fix",
    [
        ("color: #ff8800\n", 8, "color", 'color: "#ff8800"'),
        ("color: #ff8800   # orange\n", 8, "color", 'color: "#ff8800"'),
        ('color: "#ffffff"\nmodel: #gpt-4o\n', 9, "model", 'model: "#gpt-4o"'),
        (
            'color: "#ffffff"\nopeners:\n  en:\n    - #1 question\n',
            11,
            "openers.en.0",
            '- "#1 question"',
        ),
    ],
)
def test_unquoted_hash_value_says_it_was_read_as_a_comment(
    tmp_path: Path, line: str, number: int, field: str, fix: str
):
    path = tmp_path / "guest.yaml"
    path.write_text(GOOD_PERSONA.replace('color: "#ffffff"\n', line), encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_persona(path)
    assert str(err.value) == (
        f"{path}: line {number}: field '{field}': the value starts with '#', which YAML "
        f"reads as a comment, so it is empty; put it in quotes: {fix}"
    )


def test_comments_and_hashes_that_yaml_keeps_are_fine(tmp_path: Path):
    path = tmp_path / "guest.yaml"
    text = GOOD_PERSONA.replace("bio: Builds chips.\n", "bio: >-\n  Writes C# and: #tags.\n")
    path.write_text(text + "model:   # none yet\n", encoding="utf-8")
    persona = load_persona(path)
    assert persona.bio == "Writes C# and: #tags." and persona.model is None
