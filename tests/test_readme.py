"""The README tells the truth about the code."""
import os
import re

from conftest import HERE
from conftest import read_readme


def test_every_guarantee_names_a_test_that_exists():
    readme = read_readme()
    section = readme[readme.index("## Guarantees"):]
    section = section[:section.index("\n## ", 5)]
    current, named = None, 0
    for match in re.finditer(r"`(test_\w+\.py)?::(\w+)`", section):
        current = match.group(1) or current
        with open(os.path.join(HERE, current), encoding="utf-8") as handle:
            assert "def %s(" % match.group(2) in handle.read(), match.group(0)
        named += 1
    assert named >= 20


def test_every_cli_command_is_documented():
    import cli
    readme = read_readme()
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name in commands:
        assert "gateway %s" % name in readme, name


def test_readme_configuration_table_is_current():
    from config import describe_settings
    readme = read_readme()
    assert describe_settings() in readme


def test_readme_states_the_code_guard_order():
    readme = read_readme()
    assert ("auth → body → purpose → instance → module and plan → paused "
            "(423) → suppression (403) → content policy (403) → quotas "
            "(429) → throttles (429) → send") in readme


def github_slug(heading):
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors_of(markdown):
    return {github_slug(m.group(1))
            for m in re.finditer(r"^#{1,6} (.+)$", markdown, re.M)}


def test_readme_references_resolve():
    """Every link to a section or a file, and every module of the
    layout table, exists."""
    readme = read_readme()
    root = os.path.dirname(HERE)
    anchors = anchors_of(readme)
    checked = 0
    for match in re.finditer(r"\]\(([^)\s]+)\)", readme):
        target = match.group(1)
        if re.match(r"^[a-z]+:", target):
            continue  # an outside URL
        path, _, fragment = target.partition("#")
        if not path:
            assert fragment in anchors, "no section #%s" % fragment
        else:
            full = os.path.join(root, path)
            assert os.path.exists(full), "no file %s" % path
            if fragment:
                with open(full, encoding="utf-8") as handle:
                    assert fragment in anchors_of(handle.read()), target
        checked += 1
    assert checked >= 10
    layout = readme[readme.index("## Layout"):]
    for name in re.findall(r"^\| `([^`]+)`", layout, re.M) + re.findall(
            r"^\| `[^`]+`, `([^`]+)`", layout, re.M):
        assert os.path.exists(os.path.join(root, name.rstrip("/"))), name
