"""The README's configuration table is the one the Settings classes produce."""

from pathlib import Path

from devtools.settings_doc import markdown

ROOT = Path(__file__).resolve().parents[2]


def test_readme_lists_every_setting_as_the_settings_classes_define_it():
    assert markdown() in (ROOT / "README.md").read_text(), "run `python -m devtools.settings_doc` and paste"
