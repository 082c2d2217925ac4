"""CBP302 compose-missing-init and CBP401 python-logs-to-file, and the Python kind.

Besides the golden fixtures: the Python modules a Dockerfile's CMD/ENTRYPOINT runs, the kind's
parsing and ignore comments, that fixes change only the lines they must (libcst re-emits every
other byte), the safety of each fix, the import bookkeeping, the compose rule's options and
the real path: a repository run where app.py is found through the Dockerfile and fixed, and a
.py file no image runs is left alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fixers.config import Config
from fixers.dockerfile.kind import DockerfileKind
from fixers.dockerfile.parser import parse as parse_dockerfile
from fixers.dockerfile.python_sources import python_modules
from fixers.engine import KINDS, Selection, fix_text, scan_text
from fixers.kinds import related_files
from fixers.model import FixSafety
from fixers.python.kind import PythonKind, code_edits
from fixers.python.kind import parse as parse_python
from fixers.registry import find_rule
from fixers.run import discover, run
from fixers.source import LocalSource
from fixers.textedit import apply_edits
from tests.golden import cases

PY = Selection(only=frozenset({"CBP401"}))
COMPOSE = Selection(only=frozenset({"CBP302"}))


def _fix_py(text: str, *, unsafe: bool = False) -> str:
    outcome = fix_text("app.py", "python", text, PY, unsafe=unsafe)
    assert outcome.rejected == []
    return outcome.text


# --- Which Python modules an image runs -------------------------------------------------------

BASE = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ('CMD ["gunicorn", "--bind", "0.0.0.0:8000", "-w", "4", "app:app"]\n',
         ["svc/app.py", "svc/app/__init__.py"]),
        ('CMD ["python", "-u", "main.py"]\n', ["svc/main.py"]),
        ("CMD python -m shop.server --port 80\n",
         ["svc/shop/server.py", "svc/shop/server/__main__.py"]),
        ('ENTRYPOINT ["python"]\nCMD ["run.py"]\n', ["svc/run.py"]),
        ("CMD uvicorn --app-dir src main:app --host 0.0.0.0\n",
         ["svc/src/main.py", "svc/src/main/__init__.py"]),
        ('CMD ["python", "-m", "gunicorn", "--chdir", "web", "wsgi:application"]\n',
         ["svc/web/wsgi.py", "svc/web/wsgi/__init__.py"]),
        ('ENV FLASK_APP=web.py\nCMD ["flask", "run", "--host=0.0.0.0"]\n', ["svc/web.py"]),
        ('CMD ["flask", "--app", "hello:create_app()", "run"]\n',
         ["svc/hello.py", "svc/hello/__init__.py"]),
        ('CMD ["flask", "run"]\n',  # Flask's own discovery: wsgi.py, then app.py
         ["svc/wsgi.py", "svc/wsgi/__init__.py", "svc/app.py", "svc/app/__init__.py"]),
        # Behind an init, in `sh -c`, after another command.
        ('ENTRYPOINT ["tini", "--"]\nCMD ["sh", "-c", "python migrate.py && exec gunicorn '
         '-k uvicorn.workers.UvicornWorker api.main:app"]\n',
         ["svc/migrate.py", "svc/api/main.py", "svc/api/main/__init__.py"]),
        ('CMD ["python", "-Wignore::DeprecationWarning", "x.py"]\n', ["svc/x.py"]),
        # Behind tracing agents and project runners.
        ('CMD ["opentelemetry-instrument", "--traces_exporter", "otlp", "python", "app.py"]\n',
         ["svc/app.py"]),
        ('CMD ["ddtrace-run", "gunicorn", "app:app"]\n', ["svc/app.py", "svc/app/__init__.py"]),
        ('CMD ["uv", "run", "--frozen", "uvicorn", "main:app"]\n',
         ["svc/main.py", "svc/main/__init__.py"]),
        ("CMD newrelic-admin run-program python -m svc\n",
         ["svc/svc.py", "svc/svc/__main__.py"]),
        # No file: `python -c`, a REPL, a shell script, a variable.
        ('CMD ["python", "-c", "print(1)"]\n', []),
        ('CMD ["python"]\n', []),
        ('CMD ["./start.sh"]\n', []),
        ('CMD ["gunicorn", "$APP"]\n', []),
    ],
)  # fmt: skip
def test_python_modules_of_the_final_stage(tail: str, expected: list[str]) -> None:
    assert python_modules(parse_dockerfile(BASE + tail), "svc/Dockerfile") == expected


@pytest.mark.parametrize(
    ("dockerfile", "expected"),
    [
        # An executable script on the PATH, a COPY to a new name, a source directory.
        ('FROM x\nCOPY app.py /usr/local/bin/app.py\nENTRYPOINT ["app.py"]\n', ["app.py"]),
        ('FROM x\nCOPY src/main.py /srv/run.py\nCMD ["python", "/srv/run.py"]\n',
         ["src/main.py"]),
        ('FROM x\nWORKDIR /srv\nCOPY src/ ./\nCMD ["python", "app.py"]\n', ["src/app.py"]),
        # Not from the build context, outside the repository, or an earlier stage.
        ('FROM x\nWORKDIR /app\nCOPY --from=build /app /app\nCMD ["python", "x.py"]\n', []),
        ('FROM x\nCOPY ../app.py /app.py\nCMD ["python", "/app.py"]\n', []),
        ('FROM x AS a\nCOPY a.py /a.py\nCMD ["python", "/a.py"]\nFROM x\nCMD ["sh"]\n', []),
        # A WORKDIR with a variable: where `app.py` is cannot be known.
        ('FROM x\nWORKDIR $HOME\nCOPY . .\nCMD ["python", "app.py"]\n', []),
    ],
)  # fmt: skip
def test_python_modules_map_back_through_copy(dockerfile: str, expected: list[str]) -> None:
    assert python_modules(parse_dockerfile(dockerfile), "Dockerfile") == expected


def test_the_dockerfile_kind_names_scripts_and_python_modules() -> None:
    doc = parse_dockerfile(
        'FROM x\nWORKDIR /app\nCOPY . .\nENTRYPOINT ["/app/e.sh"]\nCMD ["python", "app.py"]\n'
    )
    assert related_files(DockerfileKind(), doc, "svc/Dockerfile") == [
        ("svc/e.sh", "shell"),
        ("svc/app.py", "python"),
    ]
    assert isinstance(KINDS["python"], PythonKind)


# --- The kind ---------------------------------------------------------------------------------


def test_a_syntax_error_is_a_value_error_with_its_line() -> None:
    with pytest.raises(ValueError, match=r"^line 3: not valid Python"):
        parse_python("import os\nx = (\n")
    with pytest.raises(ValueError, match=r"^line \d+:"):
        parse_python("print 'python 2'\n")


@pytest.mark.parametrize(
    "text",
    ["import os\r\nx = 1\r\n", "x = 1\ny = 2", "\ufeffx = 1\n", "if x:\n\ty = 1\n",
     "x = 1\n\x0c\ny = 2\n", "x = 1\r\ny = 2\n", "s = '''a\r\nb'''\n"],
)  # fmt: skip
def test_libcst_re_emits_the_file_byte_for_byte(text: str) -> None:
    doc = parse_python(text)
    assert doc.text[: doc.bom] + doc.module.code == text
    assert code_edits(doc, doc.module.code) == []


def test_code_edits_replace_only_the_lines_that_differ() -> None:
    text = "a = 1\r\nb = 2\r\nc = 3\r\nd = 4"
    doc = parse_python(text)
    new = "a = 1\r\nb = 20\r\nc = 3\r\nx = 0\r\nd = 4"
    edits = code_edits(doc, new)
    assert [text[e.start : e.end] for e in edits] == ["b = 2\r\n", ""]
    assert apply_edits(text, edits) == new


def test_ignore_comments_above_at_the_end_of_the_line_and_for_the_file() -> None:
    doc = parse_python(
        "import logging\n"
        "# container-bp ignore=CBP401 shipped by a sidecar\n"
        "# (the sidecar tails it)\n"
        "a = logging.FileHandler('a.log')\n"
        "b = logging.FileHandler('b.log')  # container-bp ignore=python-logs-to-file dev\n"
        "c = 'not a comment # container-bp ignore=CBP401'\n"
    )
    kind = PythonKind()
    assert "CBP401" in kind.ignored_ids(doc, 4)
    assert "python-logs-to-file" in kind.ignored_ids(doc, 5)
    assert kind.ignored_ids(doc, 6) == frozenset()
    assert kind.ignored_ids(doc, 1) == frozenset()
    whole = parse_python("# container-bp ignore-file=CBP401 reason\nx = 1\n")
    assert "CBP401" in kind.ignored_ids(whole, 2)


# --- CBP401: what is flagged, how it is fixed -------------------------------------------------


def test_basic_config_keeps_its_layout_and_comments() -> None:
    text = (
        "import logging\n"
        "\n"
        "logging.basicConfig(\n"
        "    level=logging.INFO,  # the level\n"
        "    # where to\n"
        '    filename="/var/log/app.log",  # the file\n'
        '    filemode="w",  # truncate\n'
        ")\n"
        "print('done')\n"
    )
    assert _fix_py(text) == (
        "import logging\n"
        "import sys\n"
        "\n"
        "logging.basicConfig(\n"
        "    level=logging.INFO,  # the level\n"
        "    # where to\n"
        "    stream=sys.stdout,  # the file\n"
        ")\n"
        "print('done')\n"
    )


def test_basic_config_with_handlers_or_stream_only_loses_the_file_arguments() -> None:
    text = (
        "import logging, sys\n"
        'logging.basicConfig(handlers=[logging.StreamHandler()], filename="a.log", '
        'filemode="w")\n'
    )
    assert _fix_py(text) == (
        "import logging, sys\nlogging.basicConfig(handlers=[logging.StreamHandler()])\n"
    )


def test_the_module_s_own_spelling_is_used() -> None:
    text = (
        "import sys as system\n"
        "import logging.handlers\n"
        "h = logging.handlers.RotatingFileHandler('x.log', maxBytes=1)\n"
    )
    assert _fix_py(text) == (
        "import sys as system\nimport logging.handlers\nh = logging.StreamHandler(system.stdout)\n"
    )


def test_an_aliased_from_import_is_renamed_when_it_is_no_longer_used() -> None:
    text = "from logging import FileHandler as FH\n\nh = FH('x.log')\n"
    assert _fix_py(text) == (
        "import sys\nfrom logging import StreamHandler\n\nh = StreamHandler(sys.stdout)\n"
    )


def test_a_from_import_still_in_use_stays_and_streamhandler_joins_it() -> None:
    text = (
        "import sys\n"
        "from logging import (\n"
        "    FileHandler,\n"
        "    getLogger,\n"
        ")\n"
        "\n"
        "h = FileHandler('x.log')\n"
        "assert isinstance(h, FileHandler)\n"
    )
    fixed = _fix_py(text)
    assert fixed == (
        "import sys\n"
        "from logging import (\n"
        "    FileHandler,\n"
        "    getLogger,\n"
        "    StreamHandler,\n"
        ")\n"
        "\n"
        "h = StreamHandler(sys.stdout)\n"
        "assert isinstance(h, FileHandler)\n"
    )


def test_a_removed_import_line_keeps_the_comments_above_it() -> None:
    text = (
        '"""Doc."""\n'
        "\n"
        "# logging\n"
        "from logging.handlers import RotatingFileHandler\n"
        "import os\n"
        "\n"
        "h = RotatingFileHandler(os.environ['LOG'])\n"
    )
    assert _fix_py(text, unsafe=True) == (
        '"""Doc."""\n'
        "\n"
        "# logging\n"
        "import logging\n"
        "import os\n"
        "import sys\n"
        "\n"
        "h = logging.StreamHandler(sys.stdout)\n"
    )


def test_import_sys_joins_the_standard_library_imports() -> None:
    text = (
        "from __future__ import annotations\n"
        "\n"
        "import structlog\n"
        "import logging\n"
        "\n"
        "h = logging.FileHandler('x.log')\n"
    )
    assert _fix_py(text) == (
        "from __future__ import annotations\n"
        "\n"
        "import structlog\n"
        "import logging\n"
        "import sys\n"
        "\n"
        "h = logging.StreamHandler(sys.stdout)\n"
    )


def test_a_bom_is_kept() -> None:
    text = "\ufeffimport logging\nh = logging.FileHandler('x.log')\n"
    assert (
        _fix_py(text) == "\ufeffimport logging\nimport sys\nh = logging.StreamHandler(sys.stdout)\n"
    )


@pytest.mark.parametrize(
    ("text", "safety"),
    [
        ("import logging\nh = logging.FileHandler('a.log')\n", FixSafety.SAFE),
        ("import logging\nh = logging.FileHandler(PATH)\n", FixSafety.UNSAFE),
        ("import logging\nh = logging.FileHandler(f'{d}/a.log')\n", FixSafety.UNSAFE),
        ("import logging\nh = logging.FileHandler(delay=True)\n", FixSafety.UNSAFE),
        # Something else names the file (or its base name): it may read it back.
        ("import logging\nh = logging.FileHandler('/l/a.log')\nopen('/l/a.log')\n",
         FixSafety.UNSAFE),
        ("import logging\nh = logging.FileHandler('/l/a.log')\nx = f'tail {d}/a.log'\n",
         FixSafety.UNSAFE),
        # File-handler attributes in use break on a StreamHandler.
        ("import logging\nh = logging.FileHandler('a.log')\nh.doRollover()\n",
         FixSafety.UNSAFE),
        ("import logging\nlogging.basicConfig(filename='a.log', **extra)\n", FixSafety.UNSAFE),
        ("import logging\nlogging.basicConfig(filename='a.log', level=10)\n", FixSafety.SAFE),
    ],
)  # fmt: skip
def test_fix_safety(text: str, safety: FixSafety) -> None:
    findings = scan_text("app.py", "python", text, PY)
    assert [f.fix_safety for f in findings] == [safety]


@pytest.mark.parametrize(
    "text",
    [
        "import logging\nlogging.basicConfig(level=logging.INFO)\n",
        "import logging\nlogging.basicConfig(filename=None)\n",
        "import logging\nh = logging.FileHandler('/dev/stderr')\n",
        "import logging, os\nh = logging.FileHandler(os.devnull)\n",
        "FileHandler('x.log')\n",  # not logging's
        "import mylogging as logging\nh = logging.FileHandler('x.log')\n",
        "import logging\nclass H(logging.FileHandler):\n    pass\n",  # a subclass, not a call
    ],
)
def test_not_flagged(text: str) -> None:
    assert scan_text("app.py", "python", text, PY) == []


def test_a_dict_config_is_reported_without_a_fix() -> None:
    text = "CONFIG = {'handlers': {'f': {'class': 'logging.FileHandler', 'filename': 'x'}}}\n"
    [finding] = scan_text("settings.py", "python", text, PY)
    assert finding.fix is None and finding.suggestion and "ext://sys.stdout" in finding.suggestion


def test_every_fix_changes_only_lines_that_differ() -> None:
    """Each edit of every finding in the fixtures is minimal: its first and last lines
    change (libcst kept everything else, and the diff did not widen it)."""
    seen = 0
    for case in cases():
        if case.rule != "python-logs-to-file":
            continue
        for finding in scan_text("input", "python", case.input, PY):
            for edit in finding.fix.edits if finding.fix else ():
                old = case.input[edit.start : edit.end].splitlines(keepends=True)
                new = edit.new.splitlines(keepends=True)
                if old and new:
                    assert old[0] != new[0] and old[-1] != new[-1], (case.id, edit)
                seen += 1
    assert seen > 10


# --- CBP302 -----------------------------------------------------------------------------------


def test_compose_option_images_with_init() -> None:
    text = "services:\n  media:\n    image: ghcr.io/acme/s6-app:1\n"
    assert scan_text("compose.yaml", "compose", text, COMPOSE)
    rule = find_rule("CBP302")
    assert rule is not None
    selection = Selection(
        config=Config(options={"CBP302": {"images_with_init": ["ghcr.io/acme/"]}}),
        only=frozenset({"CBP302"}),
    )
    assert scan_text("compose.yaml", "compose", text, selection) == []


def test_compose_flow_style_gets_a_suggestion() -> None:
    [finding] = scan_text("compose.yaml", "compose", "services:\n  a: {image: x}\n", COMPOSE)
    assert finding.fix is None and finding.suggestion == "add `init: true` to service `a`"


@pytest.mark.parametrize(
    ("service", "fires"),
    [
        ("    entrypoint: tini -- app\n", False),
        ("    entrypoint: ['/usr/bin/dumb-init', '--']\n", False),
        ("    command: exec /init\n", False),
        ("    command: ['python', 'app.py']\n", True),
        ("    entrypoint: 'sh -c \"unbalanced'\n", True),
        ("    extends: missing\n", False),  # what it inherits cannot be seen
    ],
)
def test_compose_start_commands(service: str, fires: bool) -> None:
    text = "services:\n  a:\n    image: x:1\n" + service
    assert bool(scan_text("compose.yaml", "compose", text, COMPOSE)) is fires


def test_compose_fix_is_idempotent_and_ignores_other_documents_bytes() -> None:
    text = "services:\n  a:\n    image: x:1\n  b:\n    image: y:1\n    init: true\n"
    fixed = fix_text("compose.yaml", "compose", text, COMPOSE, unsafe=True).text
    assert (
        fixed
        == "services:\n  a:\n    image: x:1\n    init: true\n  b:\n    image: y:1\n    init: true\n"
    )
    assert fix_text("compose.yaml", "compose", fixed, COMPOSE, unsafe=True).text == fixed


# --- The real path: a repository run ---------------------------------------------------------


def _repo(root: Path) -> None:
    (root / "svc").mkdir()
    (root / "svc" / "Dockerfile").write_text(
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\n"
        'CMD ["gunicorn", "--bind", "0.0.0.0:8000", "app:app"]\n'
    )
    (root / "svc" / "app.py").write_text(
        "import logging\n\nfrom flask import Flask\n\n"
        'handler = logging.FileHandler("/var/log/app.log")  # the app log\n'
        "app = Flask(__name__)\n"
    )
    (root / "svc" / "tools.py").write_text(  # not run by any image
        'import logging\nlogging.basicConfig(filename="tools.log")\n'
    )
    (root / "svc" / "broken").mkdir()
    (root / "compose.yaml").write_text("services:\n  api:\n    build: svc\n")


def test_app_py_is_found_through_the_dockerfile_and_fixed(tmp_path: Path) -> None:
    _repo(tmp_path)
    source = LocalSource(tmp_path)
    targets = discover(source)
    assert targets == [("compose.yaml", "yaml"), ("svc/Dockerfile", "dockerfile")]
    selection = Selection(only=frozenset({"CBP302", "CBP401"}))
    result = run(source, targets, selection, fix=True)
    by_path = {f.path: f for f in result.files}
    assert set(by_path) == {"compose.yaml", "svc/Dockerfile", "svc/app.py"}
    app = by_path["svc/app.py"]
    assert app.kind == "python"
    assert [f.rule for f in app.applied] == ["CBP401"]
    assert app.fixed == (
        "import logging\nimport sys\n\nfrom flask import Flask\n\n"
        "handler = logging.StreamHandler(sys.stdout)  # the app log\n"
        "app = Flask(__name__)\n"
    )
    compose = by_path["compose.yaml"]
    assert compose.fixed == "services:\n  api:\n    build: svc\n    init: true\n"
    assert result.skipped == [] and result.errors == []


def test_a_py_file_named_on_the_command_line_is_checked(tmp_path: Path) -> None:
    _repo(tmp_path)
    source = LocalSource(tmp_path)
    targets = discover(source, ["svc/tools.py"])
    assert ("svc/tools.py", "python") in targets
    result = run(source, targets, PY, fix=True)
    tools = next(f for f in result.files if f.path == "svc/tools.py")
    assert tools.fixed == "import logging\nimport sys\nlogging.basicConfig(stream=sys.stdout)\n"


def test_a_related_module_that_does_not_parse_is_dropped_quietly(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        'FROM python:2.7\nWORKDIR /app\nCOPY . .\nCMD ["python", "app.py"]\n'
    )
    (tmp_path / "app.py").write_text("print 'hello'\n")
    source = LocalSource(tmp_path)
    result = run(source, discover(source), PY)
    assert [f.path for f in result.files] == ["Dockerfile"]
    assert result.skipped == [] and result.errors == []
