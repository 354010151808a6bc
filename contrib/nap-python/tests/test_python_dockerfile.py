"""Unit tests of the Python app type's detection and generated Dockerfile (no engine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nap_core.config import Settings
from nap_core.errors import BuildFailed
from nap_python.dockerfile import generate


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def settings(**env: str) -> Settings:
    return Settings(home=Path("/nonexistent"), environ=env)


def test_dependencies_are_copied_and_installed_before_the_code(tmp_path: Path) -> None:
    text, _ = generate(tree(tmp_path, {"requirements.txt": "x", "app.py": ""}), settings())

    lines = text.split("\n")
    assert lines[0] == "FROM python:3.14-slim"
    copy_deps = lines.index("COPY requirements.txt /app/")
    install = lines.index("RUN pip install -r requirements.txt")
    copy_code = lines.index("COPY . /app")
    assert copy_deps < install < copy_code
    assert lines[-2] == 'CMD ["/bin/sh", "-c", "exec python app.py"]'


def test_requirements_txt_wins_over_pipfile_and_pyproject(tmp_path: Path) -> None:
    files = {"requirements.txt": "", "Pipfile": "", "pyproject.toml": "", "app.py": ""}
    text, said = generate(tree(tmp_path, files), settings())

    assert "COPY requirements.txt /app/" in text and "pipenv" not in text
    assert "dependencies: requirements.txt" in said[1]


def test_a_locked_pipfile_installs_with_deploy(tmp_path: Path) -> None:
    files = {"Pipfile": "[packages]\n", "Pipfile.lock": "{}", "app.py": ""}
    text, _ = generate(tree(tmp_path, files), settings())

    assert "COPY Pipfile Pipfile.lock /app/" in text
    assert "pipenv install --system --deploy" in text


def test_the_procfile_web_line_is_quoted_as_json(tmp_path: Path) -> None:
    files = {"requirements.txt": "", "Procfile": 'web: gunicorn "app:make()" -w 2\nworker: x\n'}
    text, said = generate(tree(tmp_path, files), settings())

    assert 'CMD ["/bin/sh", "-c", "gunicorn \\"app:make()\\" -w 2"]' in text
    assert "(Procfile)" in said[1]


def test_gunicorn_in_pyproject_dependencies_makes_the_gunicorn_default(tmp_path: Path) -> None:
    files = {
        "pyproject.toml": '[project]\ndependencies = ["flask", "gunicorn>=21"]\n',
        "app.py": "",
    }
    text, _ = generate(tree(tmp_path, files), settings())

    assert 'exec gunicorn --bind \\"0.0.0.0:$PORT\\" app:app' in text


def test_no_web_command_fails_the_build_with_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(BuildFailed, match="add a Procfile with a `web:` line"):
        generate(tree(tmp_path, {"requirements.txt": ""}), settings())


def test_the_base_image_is_a_setting_and_the_version_follows_runtime_txt(tmp_path: Path) -> None:
    root = tree(tmp_path, {"requirements.txt": "", "app.py": "", "runtime.txt": "python-3.11.9"})

    text, said = generate(root, settings(NAP_PYTHON_BASE_IMAGE="127.0.0.1:5000/python:3.13-slim"))
    assert text.startswith("FROM 127.0.0.1:5000/python:3.11.9-slim\n")
    assert said[0] == "Python: runtime.txt asks for 3.11.9: using 127.0.0.1:5000/python:3.11.9-slim"

    text, said = generate(root, settings(NAP_PYTHON_BASE_IMAGE="myorg/py:latest"))
    assert text.startswith("FROM myorg/py:latest\n")
    assert "decides the version" in said[0]


def test_python_version_file_is_read_when_there_is_no_runtime_txt(tmp_path: Path) -> None:
    root = tree(tmp_path, {"requirements.txt": "", "app.py": "", ".python-version": "# x\n3.13\n"})

    text, _ = generate(root, settings())
    assert text.startswith("FROM python:3.13-slim\n")


@pytest.mark.parametrize("value", ["python-3.12; rm -rf /", "python-latest", "python-3.12\rFROM x"])
def test_a_hostile_runtime_txt_is_refused(tmp_path: Path, value: str) -> None:
    root = tree(tmp_path, {"requirements.txt": "", "app.py": "", "runtime.txt": value})

    with pytest.raises(BuildFailed, match=r"runtime\.txt asks for version"):
        generate(root, settings())


def test_a_symlinked_dependency_file_is_never_read(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("")
    (tmp_path / "requirements.txt").write_text("")
    os.symlink("/etc/passwd", tmp_path / "Procfile")

    with pytest.raises(BuildFailed, match="Procfile is a symbolic link"):
        generate(tmp_path, settings())
