"""docker-compose.yml must be accepted by Docker Compose v2 (no engine needed for `config`)."""
import os
import shutil
import subprocess
from pathlib import Path

import compose
import pytest
import yaml

from ivr.sounds.build import DEFAULT_TARGET
from ivr.sounds.manifest import manifest
from tests.conftest import ROOT

COMPOSE_BIN = Path(compose.__file__).with_name("docker-compose")
ENV = {
    "CCS_POSTGRES_PASSWORD": "x" * 16,
    "CCS_AMI__SECRET": "y" * 16,
    "CCS_AUTH__SECRET_KEY": "z" * 32,
    "CCS_IVR__AGI_TOKEN": "t" * 24,
}


def _compose_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **env}
    if shutil.which("docker"):
        # Exercise the real `docker compose` front end with the plugin from PyPI.
        plugins = tmp_path / "docker" / "cli-plugins"
        plugins.mkdir(parents=True)
        (plugins / "docker-compose").symlink_to(COMPOSE_BIN)
        cmd = ["docker", "--config", str(tmp_path / "docker"), "compose"]
    else:
        cmd = [str(COMPOSE_BIN)]
    return subprocess.run(
        [*cmd, "-f", str(ROOT / "docker-compose.yml"), "config", "--format", "yaml"],
        capture_output=True, text=True, env=full_env, timeout=60,
    )


def test_when_secrets_are_given_then_compose_config_accepts_the_file(tmp_path):
    result = _compose_config(tmp_path, ENV)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert {"asterisk", "postgres", "redis", "server"} <= set(config["services"])
    server_env = config["services"]["server"]["environment"]
    assert server_env["CCS_AMI__HOST"] == "asterisk"
    # Asterisk and the server share the FastAGI token; Asterisk renders its AMI secret.
    assert config["services"]["asterisk"]["environment"]["CCS_AGI_TOKEN"] == server_env["CCS_IVR__AGI_TOKEN"]
    assert "vosk-model" in config["volumes"]


def test_when_a_secret_is_missing_then_compose_refuses(tmp_path):
    env = {k: v for k, v in ENV.items() if k != "CCS_AUTH__SECRET_KEY"}
    result = _compose_config(tmp_path, env)
    assert result.returncode != 0
    assert "CCS_AUTH__SECRET_KEY" in result.stderr


def test_when_compose_mounts_dialplans_then_the_files_exist():
    config = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for volume in config["services"]["asterisk"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith(f"./{DEFAULT_TARGET}/"):
            continue  # made by the set-up, not kept in the repository (see the next test)
        assert (ROOT / source).exists(), source


def test_when_a_mounted_dialplan_includes_a_file_then_that_file_is_mounted_beside_it():
    config = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(v.rsplit(":", 1)[0].split(":") for v in config["services"]["asterisk"]["volumes"])
    for source, target in mounts.items():
        if not source.startswith("./dialplans/"):
            continue
        for line in (ROOT / source).read_text().splitlines():
            if line.strip().startswith("#include"):
                included = line.split(None, 1)[1].strip().strip('"')
                # Asterisk reads a relative #include from its configuration folder.
                assert mounts.get(f"./dialplans/{included}") == f"/etc/asterisk/{included}", (
                    f"{source} includes {included}, which the Asterisk container does not get")


def test_when_compose_mounts_sounds_then_asterisk_finds_every_recording_of_the_manifest():
    config = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = dict(v.rsplit(":", 1)[0].split(":") for v in config["services"]["asterisk"]["volumes"])
    asterisk_sounds = "/var/lib/asterisk/sounds"
    for name in manifest():
        top = name.split("/")[0]
        source = mounts.get(f"./{DEFAULT_TARGET}/{top}")
        if source is None:  # mounted file by file
            source = mounts[f"./{DEFAULT_TARGET}/{name}.wav"]
            assert source == f"{asterisk_sounds}/{name}.wav"
        else:
            assert source == f"{asterisk_sounds}/{top}"
