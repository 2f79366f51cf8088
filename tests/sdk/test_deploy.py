"""deploy/compose.yaml: a valid Compose file whose Parallax settings are real `serve` settings.

`docker compose config` (or Debian's `docker-compose`) checks the file against the Compose
schema; CI installs one (.ci/run) and refuses to skip. The other checks read the file itself:
every `PARALLAX_*` variable it sets must be one `parallax serve --help` documents (a renamed flag
would otherwise leave the compose file silently ignored), both nodes share one database, and
SearXNG answers the JSON format Parallax reads.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy" / "compose.yaml"


def compose_command():
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_the_compose_file_is_valid():
    command = compose_command()
    if command is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true: docker compose or docker-compose must be installed to validate deploy/compose.yaml")
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    checked = subprocess.run([*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True,
                             env={**os.environ, "PARALLAX_API_KEY": "px_compose_check"})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Without a key the file refuses to start rather than run keyless.
    unset = {k: v for k, v in os.environ.items() if k != "PARALLAX_API_KEY"}
    refused = subprocess.run([*command, "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True, env=unset)
    assert refused.returncode != 0 and "PARALLAX_API_KEY" in refused.stderr, refused.stderr


def test_every_parallax_setting_in_the_compose_file_is_a_real_serve_setting(parallax_bin):
    doc = yaml.safe_load(COMPOSE.read_text())
    nodes = {name: svc for name, svc in doc["services"].items() if name.startswith("parallax")}
    assert len(nodes) == 2, nodes.keys()
    helped = subprocess.run([str(parallax_bin), "serve", "--help"], capture_output=True, text=True, check=True).stdout
    known = set(re.findall(r"env: (PARALLAX_[A-Z_]+)", helped))
    assert "PARALLAX_DATABASE_URL" in known, helped
    for name, svc in nodes.items():
        env = svc["environment"]
        unknown = [k for k in env if k.startswith("PARALLAX_") and k not in known]
        assert not unknown, f"{name} sets {unknown}, which `parallax serve` does not read"
        assert svc["command"] == ["serve"], svc
    urls = {svc["environment"]["PARALLAX_DATABASE_URL"] for svc in nodes.values()}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgres://"), urls
    settings = yaml.safe_load((REPO / "deploy" / "searxng" / "settings.yml").read_text())
    assert "json" in settings["search"]["formats"], settings
