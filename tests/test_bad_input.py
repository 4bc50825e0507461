"""Malformed input to the command lines, by class: each is refused before any work (no
sampling, no window, no training), with exactly one line on stderr that names the option
or the file, no traceback, and exit code 2 (bad input: options, --config files) or 1
(a run that cannot be done: damaged weights, an output that cannot be written)."""

import json
import os
import shutil

import numpy as np
import pytest

from poe_desktop.record import command as record_cli
from poe_engine import cli
from poe_engine.weights import DEFAULT_DIR, MANIFEST, expert_file, sha256

TINY = ["--steps", "2", "--points", "16", "--particles", "1", "--langevin", "0"]
USAGE, FAILURE = 2, 1


@pytest.fixture(autouse=True)
def nothing_runs(monkeypatch, tmp_path, request):
    """Sampling, a window, training or an evaluation would fail the test; relative paths
    land in the test's own folder."""
    import pyqtgraph

    from poe_desktop import app
    from poe_engine import evaluation, training

    def forbidden(what):
        def fail(*args, **kwargs):
            pytest.fail(f"{what} started for a malformed input")
        return fail

    monkeypatch.setattr(cli, "run", forbidden("sampling"))
    monkeypatch.setattr(record_cli, "run", forbidden("sampling"))
    if request.node.get_closest_marker("gui") is None:
        monkeypatch.setattr(pyqtgraph, "mkQApp", forbidden("a window"))
    for module in (app, record_cli):
        monkeypatch.setattr(module, "display_available", lambda: True)
    monkeypatch.setattr(evaluation, "evaluate", forbidden("an evaluation"))
    monkeypatch.setattr(training, "train_axis_experts", forbidden("training"))
    monkeypatch.chdir(tmp_path)


def refused(main, argv, capsys, code, *names):
    """`main(argv)` exits with `code` and says one line on stderr naming all of `names`."""
    assert main(argv) == code
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for name in names:
        assert name in lines[0], (name, lines[0])
    assert captured.out == ""
    return lines[0]


def sample(*args):
    return ["sample", *TINY, *args]


def record(tmp_path, *args):
    return [*TINY, "--out", str(tmp_path / "x.gif"), *args]


# ----------------------------------------------------------------- 1. numbers
INT_OPTIONS = ["--particles", "--points", "--steps", "--langevin", "--seed", "--resample-every"]
FLOAT_OPTIONS = ["--kappa", "--ode-scale", "--ess-threshold", "--strength", "--schedule-target"]
NOT_INTEGERS = ["", " ", "abc", "1.5", "1e3", "nan", "inf", "0x10", "9" * 5000]
NOT_NUMBERS = ["", "abc", "nan", "inf", "1e400", "1,5", "--"]
OUT_OF_RANGE = [
    ("--particles", "0"), ("--particles", "65"), ("--particles", str(10**30)),
    ("--points", "15"), ("--points", "4097"), ("--steps", "0"), ("--steps", "513"),
    ("--langevin", "-1"), ("--langevin", "11"), ("--seed", "-1"), ("--seed", str(2**64)),
    ("--kappa", "0.51"), ("--kappa", "-0.1"), ("--ode-scale", "2.5"), ("--ode-scale", "-1"),
    ("--ess-threshold", "1.01"), ("--ess-threshold", "-0.5"), ("--strength", "-1"),
    ("--strength", "1e39"), ("--strength", "10001"), ("--schedule-target", "1.5"),
    ("--schedule-target", "-0.1"), ("--resample-every", "-1"), ("--resample-every", "513"),
]
NUMBER_CASES = ([(o, v) for o in INT_OPTIONS for v in NOT_INTEGERS]
                + [(o, v) for o in FLOAT_OPTIONS for v in NOT_NUMBERS] + OUT_OF_RANGE)


@pytest.mark.parametrize("option, value", NUMBER_CASES)
def test_bad_numbers_are_usage_errors_naming_the_option(option, value, capsys):
    line = refused(cli.main, sample(option, value), capsys, USAGE, f"argument {option}: ")
    assert len(line) < 200  # a 5000-digit value is not echoed whole


# ----------------------------------------------------------------- 2. words
WORD_CASES = [
    ("--sampler", ""), ("--sampler", "ddim"), ("--sampler", "AIS"),
    ("--resampling", "stratified"), ("--weighting", ""), ("--weighting", "smc"),
    ("--schedule", "cubic"), ("--schedule", ""), ("--kernel", "nuts"), ("--kernel", "MALA"),
    ("--moves", "sideways"), ("--moves", "TILTED"), ("--moves", ""),
    ("--device", "gpu"),
    ("--device", ""), ("--reward", ""), ("--reward", "purplish"), ("--reward", "#12345"),
    ("--reward", "#GGGGGG"), ("--reward", "rgb(1,0,0)"), ("--reward", "   "),
    ("--reward", "red\nblue"), ("--reward", "light orange"), ("--reward", "orangee"),
    ("--reward", "#orange"), ("--reward", "transparent"), ("--experts", ""), ("--experts", ","),
    ("--experts", "x,w"),
    ("--experts", "X"), ("--experts", "x;y"), ("--experts", "x" * 5000),
]


@pytest.mark.parametrize("option, value", WORD_CASES)
def test_bad_choices_colours_and_expert_lists_are_usage_errors(option, value, capsys):
    refused(cli.main, sample(option, value), capsys, USAGE, f"argument {option}: ")


COMMAND_LINES = [
    ([], "required: command"), (["paint"], "invalid choice: 'paint'"),
    (["sample", "--bogus"], "unrecognized arguments: --bogus"),
    (["sample", "--steps"], "argument --steps: expected one argument"),
    (["sample", "extra"], "unrecognized arguments: extra"),
    (["evaluate", "--seeds", "-1"], "argument --seeds: each seed must lie in"),
    (["evaluate", "--seeds", "0-100000"], "argument --seeds: at most 1000 seeds"),
    (["evaluate", "--seeds", "a-b"], "argument --seeds: invalid seeds"),
    (["evaluate", "--colors", "red,purplish"], "argument --colors: unknown colour 'purplish'"),
    (["train", "--steps", "0"], "argument --steps: must lie in"),
    (["train", "--lr", "nan"], "argument --lr: must be finite"),
    (["train", "--batch", "0"], "argument --batch: must lie in"),
    (["train", "--seed", str(2**64)], "argument --seed: must lie in"),
]


@pytest.mark.parametrize("argv, message", COMMAND_LINES)
def test_malformed_command_lines_are_usage_errors(argv, message, capsys):
    refused(cli.main, argv, capsys, USAGE, message)


# ----------------------------------------------------------------- 3. output paths
SAMPLE_OUTPUTS = [
    ("--out", "", "--out: empty path"), ("--out", "  ", "--out: empty path"),
    ("--out", "run.txt", "must end in .npz"), ("--out", "run", "must end in .npz"),
    ("--out", "folder/", "names a folder"), ("--out", ".npz", "no file name before"),
    ("--out", " .npz", "blank file name"), ("--ply", "", "--ply: empty path"),
    ("--ply", "x.obj", "must end in .ply"), ("--ply", "x/", "names a folder"),
    ("--save-config", "", "--save-config: empty path"),
    ("--save-config", "c.yaml", "must end in .json"),
]


@pytest.mark.parametrize("option, value, message", SAMPLE_OUTPUTS)
def test_malformed_output_paths_are_usage_errors(option, value, message, capsys):
    refused(cli.main, sample(option, value), capsys, USAGE, option, message)


@pytest.mark.parametrize("option, name", [("--out", "x.npz"), ("--ply", "x.ply"),
                                          ("--save-config", "c.json")])
@pytest.mark.parametrize("where", ["under a file", "a folder"])
def test_unwritable_outputs_fail_before_the_run(option, name, where, tmp_path, capsys):
    blocker = tmp_path / "blocker"
    if where == "under a file":
        blocker.write_text("")
        path, message = blocker / name, f"{blocker}/ is a file, not a folder"
    else:
        path, message = tmp_path / name, "it is a folder, not a file"
        path.mkdir()
    refused(cli.main, sample(option, str(path)), capsys, FAILURE, f"{option} {path}", message)


RECORD_OUTPUTS = [("", USAGE, "--out: empty path"), (" ", USAGE, "--out: empty path"),
                  ("x.avi", USAGE, "record to .mp4, .gif or a folder"),
                  ("x.mp4.txt", USAGE, "record to .mp4, .gif or a folder"),
                  ("blocker/x.mp4", FAILURE, "is a file, not a folder"),
                  ("blocker/", FAILURE, "is a file, not a folder"),
                  ("folder.gif", FAILURE, "it is a folder, not a file")]


@pytest.mark.parametrize("out, code, message", RECORD_OUTPUTS)
def test_record_refuses_bad_outputs_before_any_window(out, code, message, tmp_path, capsys):
    (tmp_path / "blocker").write_text("")
    (tmp_path / "folder.gif").mkdir()
    refused(record_cli.main, [*TINY, "--out", out], capsys, code, "--out", message)


# ----------------------------------------------------------------- 4. record options
RECORD_OPTIONS = [
    ("--hold", v) for v in ("inf", "nan", "1e9", "-1", "", "abc")] + [
    ("--fps", v) for v in ("0", "-1", "1e12", "121", "", "24.5", "nan")] + [
    ("--point-size", v) for v in ("nan", "-5", "inf", "1e9", "0", "")] + [
    ("--size", v) for v in ("", "big", "800", "10x10", "800x800x3", "5000x800", "x")] + [
    ("--grid", v) for v in ("", "moods")] + [
    ("--particles", "0"), ("--seed", "-1"), ("--strength", "1e39"), ("--reward", "purplish"),
    ("--experts", "x,w"),
]


@pytest.mark.parametrize("option, value", RECORD_OPTIONS)
def test_record_options_are_usage_errors_before_any_window(option, value, tmp_path, capsys):
    refused(record_cli.main, record(tmp_path, option, value), capsys, USAGE,
            f"poe-desktop record: argument {option}: ")
    assert not (tmp_path / "x.gif").exists()


# ----------------------------------------------------------------- 5. configuration files
F = '{"format": "poe-run-config/1", '
F2 = '{"format": "poe-run-config/2", '
BAD_CONFIG_TEXTS = [
    ("{steps: 6", "not valid JSON"), ("[" * 100_000, "nested too deeply"),
    ("[1, 2]", "not a run configuration"), ('{"format": "poe-run-config/9"}', "format"),
    ("", "not valid JSON"), ("null", "not a run configuration"),
    (F + '"stepz": 6}', "unknown key(s) stepz"), (F + '"steps": "6"}', "steps must be"),
    (F + '"particles": 0}', "particles must lie in [1, 64]"),
    (F + '"kappa": true}', "kappa must be a number"),
    (F + '"seed": -1}', "seed must lie in"),
    (F + '"seed": 18446744073709551616}', "seed must lie in [0, 2**64 - 1]"),
    (F + '"seed": 1' + "0" * 5000 + "}", "a number too long to read"),
    (F + '"strength": 1e39}', "strength must lie in [0, 10000]"),
    (F + '"strength": NaN}', "strength must be finite"),
    (F + '"ode_scale": Infinity}', "ode_scale must be finite"),
    (F + '"reward": "purplish"}', "unknown colour 'purplish'"),
    (F + '"reward": 7}', "reward must be a string"),
    (F + '"reward": "dark-orange"}', "unknown colour 'dark-orange'"),
    (F + '"experts": ["x", 1]}', "experts must be a comma list"),
    (F + '"experts": "x,w"}', "unknown expert(s) w"),
    (F + '"sampler": "ddim"}', "sampler must be one of"),
    (F + '"device": ["cpu"]}', "device must be one of"),
    (F2 + '"moves": "sideways"}', "moves must be one of blind, tilted"),
    (F + '"expert_weights": {"x": 2}}', "unknown key(s) expert_weights"),  # a /2 key
    (F2 + '"expert_weights": {"w": 2}}', "expert_weights names unknown expert(s) w"),
    (F2 + '"expert_weights": {"x": -1}}', "expert_weights.x must lie in [0, 10]"),
    (F2 + '"expert_weights": [2, 1]}', "expert_weights must be an object"),
    (F2 + '"checksums": {"x": "abc"}}', "checksums.x must be 64 lowercase hexadecimal"),
    (F2 + '"checksums": {"color": "' + "0" * 64 + '"}}', "checksums names unknown"),
    (F2 + '"steering": {}}', "steering must be a list"),
    (F2 + '"steering": [{"step": 0, "reward": "red"}]}', "steering[0].step must lie in"),
    (F2 + '"steering": [{"step": 2}]}', "steering[0] changes nothing"),
    (F2 + '"steering": [{"step": 2, "experts": "x,w"}]}', "unknown expert(s) w"),
    (F2 + '"steering": [{"step": 2, "strength": 1}, {"step": 1, "strength": 2}]}',
     "steering[1].step must come after step 2"),
]


@pytest.fixture(scope="module")
def bad_config_files(tmp_path_factory):
    """name -> (path, message) of files that are no configuration."""
    folder = tmp_path_factory.mktemp("configs")
    files = {}
    for i, (text, message) in enumerate(BAD_CONFIG_TEXTS):
        path = folder / f"bad{i}.json"
        path.write_text(text)
        files[f"text{i}"] = (path, message)
    (folder / "binary.json").write_bytes(b"\xff\xfe{")
    (folder / "big.json").write_text(" " * (2 << 20))
    (folder / "empty.npz").write_bytes(b"")
    with open(folder / "array.npz", "wb") as f:
        np.save(f, np.zeros(3))
    np.savez(folder / "no_meta.npz", trajectory=np.zeros(3))
    np.savez(folder / "bad_meta.npz", meta=np.array('{"format": "poe-run-config/1", '
                                                    '"steps": 0}'))
    (folder / "dir.json").mkdir()
    files |= {
        "binary": (folder / "binary.json", "not a text file"),
        "big": (folder / "big.json", "too large for a configuration"),
        "empty npz": (folder / "empty.npz", "not a zip archive"),
        "npy as npz": (folder / "array.npz", "not a zip archive"),
        "npz without meta": (folder / "no_meta.npz", "cannot read a run's meta"),
        "npz with a bad meta": (folder / "bad_meta.npz", "steps must lie in"),
        "a folder": (folder / "dir.json", "a folder, not a configuration file"),
        "missing": (folder / "missing.json", "No such file or directory"),
    }
    if os.path.exists("/dev/zero"):
        files["/dev/zero"] = ("/dev/zero", "not a regular file")
    return files


CONFIG_CASES = [f"text{i}" for i in range(len(BAD_CONFIG_TEXTS))] + [
    "binary", "big", "empty npz", "npy as npz", "npz without meta", "npz with a bad meta",
    "a folder", "missing", "/dev/zero"]


@pytest.mark.parametrize("command", ["sample", "record"])
@pytest.mark.parametrize("case", CONFIG_CASES)
def test_bad_config_files_are_usage_errors_naming_the_file(case, command, bad_config_files,
                                                           tmp_path, capsys):
    if case not in bad_config_files:
        pytest.skip(f"no {case} here")
    path, message = bad_config_files[case]
    if command == "sample":
        main, argv = cli.main, ["sample", "--config", str(path), "--out", str(tmp_path / "r.npz")]
    else:
        main, argv = record_cli.main, ["--config", str(path), "--out", str(tmp_path / "x.gif")]
    line = refused(main, argv, capsys, USAGE, f"error: {path}: ", message)
    assert len(line) < 300


# ----------------------------------------------------------------- 6. weight folders
def _set(*keys_and_value):
    *keys, last, value = keys_and_value

    def change(folder):
        manifest = json.loads((folder / MANIFEST).read_text())
        m = manifest
        for key in keys:
            m = m[key]
        m[last] = value
        (folder / MANIFEST).write_text(json.dumps(manifest))
    return change


def _flip_a_byte(folder):
    path = folder / expert_file("y")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _swap_x_and_y(folder):
    x, y = folder / expert_file("x"), folder / expert_file("y")
    data = x.read_bytes()
    x.write_bytes(y.read_bytes())
    y.write_bytes(data)
    manifest = json.loads((folder / MANIFEST).read_text())
    for path in (x, y):
        manifest["files"][path.name].update(sha256=sha256(path), bytes=path.stat().st_size)
    (folder / MANIFEST).write_text(json.dumps(manifest))


X = expert_file("x")
WEIGHT_DAMAGE = {
    "no manifest": (lambda f: (f / MANIFEST).unlink(), "manifest not found"),
    "a missing file": (lambda f: (f / expert_file("z")).unlink(), "file not found"),
    "a truncated file": (lambda f: (f / X).write_bytes((f / X).read_bytes()[:500]),
                         "500 bytes, the manifest says"),
    "an empty file": (lambda f: (f / X).write_bytes(b""), "0 bytes, the manifest says"),
    "a flipped byte": (_flip_a_byte, "checksum does not match"),
    "swapped files": (_swap_x_and_y, "holds the expert of axis 'y'"),
    "manifest not JSON": (lambda f: (f / MANIFEST).write_text("{nope"), "unreadable manifest"),
    "manifest empty": (lambda f: (f / MANIFEST).write_text(""), "unreadable manifest"),
    "manifest nested": (lambda f: (f / MANIFEST).write_text("[" * 100_000), "nested too deeply"),
    "manifest a folder": (lambda f: ((f / MANIFEST).unlink(), (f / MANIFEST).mkdir()),
                          "manifest not found"),
    "manifest of another format": (_set("format", "poe-axis-experts/0"), "not a poe-axis"),
    "files as a list": (_set("files", [X]), "files must be an object"),
    "an entry as a string": (_set("files", X, "abc"), f"files.{X} must be an object"),
    "recipe as a list": (_set("recipe", [1]), "recipe must be an object"),
    "hidden as text": (_set("recipe", "hidden", "abc"), "recipe.hidden must be an integer"),
    "hidden of a million": (_set("recipe", "hidden", 10**6), "recipe.hidden must lie in"),
    "negative depth": (_set("recipe", "depth", -1), "recipe.depth must lie in [1, 16]"),
    "a wrong tensor shape": (_set("files", X, "tensors", "mlp.0.bias", [255]),
                             f"{MANIFEST}: files.{X}.tensors: tensor mlp.0.bias has shape "
                             "[255] in the manifest, [256] in the file, as the model needs"),
    "a checksum of the wrong kind": (_set("files", X, "sha256", None), "must be a string"),
}


@pytest.fixture(scope="module")
def damaged_weights(tmp_path_factory):
    folders = {}
    for case, (damage, _) in WEIGHT_DAMAGE.items():
        folder = tmp_path_factory.mktemp("weights")
        shutil.copytree(DEFAULT_DIR, folder, dirs_exist_ok=True)
        damage(folder)
        folders[case] = folder
    return folders


@pytest.mark.parametrize("command", ["sample", "record"])
@pytest.mark.parametrize("case", list(WEIGHT_DAMAGE))
def test_damaged_weights_fail_in_one_line_with_the_rebuild_command(case, command,
                                                                   damaged_weights,
                                                                   tmp_path, capsys):
    folder = damaged_weights[case]
    if command == "sample":
        main, argv = cli.main, sample("--weights", str(folder), "--out", str(tmp_path / "r.npz"))
    else:
        main, argv = record_cli.main, record(tmp_path, "--weights", str(folder))
    refused(main, argv, capsys, FAILURE, str(folder), WEIGHT_DAMAGE[case][1],
            f"rebuild with: poe-engine train --out {folder}")


@pytest.mark.parametrize("weights", ["not-there", "a-file"])
def test_weights_that_are_no_folder_fail_in_one_line(weights, tmp_path, capsys):
    (tmp_path / "a-file").write_text("")
    refused(cli.main, sample("--weights", weights), capsys, FAILURE, "manifest not found",
            "poe-engine train --out")


@pytest.mark.parametrize("command, option", [
    ("sample", "--weights"), ("record", "--weights"), ("evaluate", "--weights"),
    ("train", "--out")])
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_weights_folder_names_the_option(command, option, empty, tmp_path, capsys):
    """'' is no folder (not the current one): the option is named, as bad input."""
    if command == "record":
        main, argv = record_cli.main, record(tmp_path, option, empty)
    else:
        main, argv = cli.main, [command, option, empty]
    line = refused(main, argv, capsys, USAGE, f"argument {option}: empty path")
    assert "manifest" not in line


@pytest.mark.gui
def test_a_malformed_manifest_gives_a_dialog_in_the_app(qtbot, damaged_weights):
    from poe_desktop import MainWindow

    window = MainWindow(damaged_weights["files as a list"])
    qtbot.addWidget(window)
    assert window.run() is False
    assert "files must be an object" in window.error_dialog.text()
    window.error_dialog.close()
