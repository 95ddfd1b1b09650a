"""Counting the constructions of real reports in labelled documents."""
from pipeline.corpus import authoring
from pipeline.corpus.constructions import count_constructions, markdown_table

BODY = """I. NÔNG NGHIỆP
{l}- [M1:Lúa mùa]: [V:7.265|m=1 r=level] [U:ha], giảm [V:1,22|m=1 r=change d=down b=1][U:%] ([V:-90|m=1 r=change d=down b=1] [U:ha]) so với [B1:cùng kỳ|same_period];
{a}+ Toàn tỉnh có [V:18.987|m=1 r=level] [U:con] [M1:trâu], [M2:năng suất lúa] đạt [V:61,5|m=2 r=level] [U:tạ/ha], cao hơn [V:1,2|m=2 r=change d=up b=1] [U:tạ/ha] so với [B1:bình quân cả nước|average].
{a}[M1:Khu vực I] đóng góp [V:0,49|m=1 r=level] [U:điểm phần trăm]; [M2:Chỉ số PCI] xếp thứ [V:12/63|m=2 r=rank].
{l}[M1:Thu ngân sách] giảm mạnh so với [B1:cùng kỳ|same_period], giống lúa OM 5451 chiếm ưu thế.
{o}Chỉ tiêu	Kế hoạch	Thực hiện
{a}[M1:GRDP]	[V:7|m=1 r=level]	[V:7,2|m=1 r=level]
"""


def test_each_construction_is_counted_from_the_labels_or_the_text(tmp_path):
    path = tmp_path / "cut.ann"
    path.write_text("# doc_id: cut\n---\n" + BODY, encoding="utf-8")
    document, problems = authoring.load(path)
    assert problems == []
    rows = {row["construction"]: row["occurrences"] for row in count_constructions([document])}
    assert rows["bracketed_signed_change"] == 1
    assert rows["list_item"] == 2
    assert rows["negative_value"] == 1
    assert rows["figure_before_thing"] == 1
    assert rows["compound_unit"] == 2
    assert rows["comparative"] == 1
    assert rows["contribution"] == 1
    assert rows["rank"] == 1
    assert rows["fraction"] == 1
    assert rows["comparison_without_figure"] == 1
    assert rows["table_row"] == 2
    assert rows["headline_growth"] == 1
    # "OM 5451" is a name; "Khu vực I" has no digit; dates and values are not counted.
    assert rows["number_in_name"] == 1
    assert "long_sentence" not in rows  # needs the tokenizer
    table = markdown_table(count_constructions([document]))
    assert table.splitlines()[0] == "| construction | occurrences | documents | minimum | met |"


def test_constructions_command_prints_the_table_of_the_corpus(capsys):
    from pipeline.cli import main

    assert main(["corpus", "constructions", "--no-tokens", "--json"]) == 0
    import json

    rows = {row["construction"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["bracketed_signed_change"]["occurrences"] >= 40 and rows["table_row"]["documents"] >= 4
