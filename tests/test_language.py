"""pipeline.load(): one Language from one config, saved and loaded whole, with
clear errors for a missing or mismatched model."""
import json
import shutil

import pytest
from thinc.api import Config

import pipeline
from conftest import ROOT
from pipeline.errors import ModelMissingError, ModelVersionError
from pipeline.language import PIPELINE_CONFIG, _from_config, load_config


def test_the_shipped_pipeline_is_one_language_with_every_stage(nlp):
    assert nlp.pipe_names == ["structure", "entities", "records", "sentence_classes", "context"]
    assert nlp.meta["name"] == "vnreport" and nlp.meta["vnreport_version"] == pipeline.__version__
    # the training data it was made from, by hash, and its scores
    assert all(len(d["sha256"]) == 64 for d in nlp.meta["training_data"])
    assert nlp.meta["scores"]["test"]["records"]["f1"] > 0.8


def test_the_shipped_model_saved_the_tokenizer_settings_of_pipeline_cfg():
    saved = Config().from_disk(ROOT / "models" / "vnreport" / "config.cfg", interpolate=False)
    assert saved["nlp"]["tokenizer"] == Config().from_disk(PIPELINE_CONFIG, interpolate=False)["nlp"]["tokenizer"]


def test_tokenizer_settings_saved_with_a_model_are_the_ones_used_when_it_is_loaded(tmp_path):
    config = load_config()
    config["nlp"]["pipeline"] = ["structure"]
    config["components"] = {"structure": config["components"]["structure"]}
    config["nlp"]["tokenizer"]["number_tag"] = "NUMBER"
    config["nlp"]["tokenizer"]["detach"]["after_number"] = []
    nlp = _from_config(config)
    nlp.meta.update({"name": "vnreport", "vnreport_version": pipeline.__version__})
    nlp.to_disk(tmp_path / "model")
    loaded = pipeline.load(tmp_path / "model")
    assert loaded.tokenizer.settings["number_tag"] == "NUMBER"
    doc = loaded("Diện tích vải 28.126ha, đóng góp 3,2 điểm")
    assert [(t.text, t.tag_) for t in doc if t.text in ("28.126", "ha", "3,2")] == [("28.126", "NUMBER"), ("ha", "Nu"), ("3,2", "NUMBER")]
    # "115.000 tỷ đồng bằng" is no longer cut after a figure: the saved setting decided
    assert "đồng bằng" in [t.text for t in loaded.make_doc("đạt 115.000 tỷ đồng bằng 52%")]
    assert "đồng bằng" not in [t.text for t in pipeline.load().make_doc("đạt 115.000 tỷ đồng bằng 52%")]
    # and the default pipeline is unaffected
    assert pipeline.load().tokenizer.settings["number_tag"] == "M"


def test_a_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelMissingError, match=f"{tmp_path}: no trained vnreport pipeline here"):
        pipeline.load(tmp_path)


def test_a_model_made_by_another_vnreport_is_refused(tmp_path):
    shutil.copytree(ROOT / "models" / "vnreport", tmp_path / "model")
    meta_path = tmp_path / "model" / "meta.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["vnreport_version"] = "0.1.0"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(ModelVersionError, match="made by vnreport 0.1.0, this is vnreport"):
        pipeline.load(tmp_path / "model")


def test_an_untrained_component_says_what_to_do():
    nlp = _from_config(load_config())
    with pytest.raises(ModelMissingError, match="vnreport train"):
        nlp("Doanh thu tăng 5%.")


def test_the_rule_baseline_is_a_second_config_of_the_same_pipeline():
    rules = pipeline.load("rules")
    assert rules.pipe_names == ["structure", "rule_entities", "records", "sentence_classes", "context"]
    assert rules.tokenizer.settings == pipeline.load().tokenizer.settings
    doc = rules("1. Kinh tế\nDoanh thu đạt 120 tỷ đồng, tăng 5% so với cùng kỳ.")
    assert [(e.text, e.label_) for e in doc.ents if e.label_ == "VALUE"] == [("120", "VALUE"), ("5", "VALUE")]
    assert [s._.label for s in doc.spans["sentences"]] == ["achievement"]
