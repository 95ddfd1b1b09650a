"""Settings files: a missing, broken or outdated --config is a clear error naming the file."""
import pytest

from pipeline.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def test_the_packaged_settings_hold_every_limit():
    read = load_config()["read"]
    assert {"max_bytes", "max_chars", "max_docx_unzipped_bytes", "max_docx_members", "max_pdf_pages"} <= set(read)


def test_the_pipeline_settings_live_in_its_config_not_in_the_run_settings():
    # Tokenizer and structure settings are saved with a model (config.cfg,
    # structure/settings.json): a run's --config cannot tokenise differently
    # from training. What a run reads, writes and how it batches are run settings.
    assert set(load_config()) == {"annotate", "read", "batch"}


@pytest.mark.parametrize("content, message", [
    (None, "no such file"),
    (b"[read\nmax_bytes = 1", "not valid TOML: "),
    (b"\xff\xfe[read]", "not valid TOML: not UTF-8 text"),
])
def test_a_settings_file_that_cannot_be_read_names_the_file(tmp_path, content, message):
    path = tmp_path / "settings.toml"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: {message}")


def test_a_copy_made_before_a_setting_was_added_is_refused_with_its_name(tmp_path):
    old = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")
    old = "\n".join(line for line in old.splitlines() if not line.startswith(("max_chars", "max_pdf_pages")))
    path = tmp_path / "old.toml"
    path.write_text(old, encoding="utf-8")
    with pytest.raises(ConfigError, match="missing setting\\(s\\) read.max_chars, read.max_pdf_pages; copy them from"):
        load_config(path)


def test_a_full_copy_loads_and_lists_may_be_shortened(tmp_path):
    text = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8").replace('"legacy", ', "")
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    assert "legacy" not in load_config(path)["read"]["text_encodings"]
