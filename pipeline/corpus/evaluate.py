"""Evaluation on labelled documents: the trained models and the rule baseline
side by side, per entity label, per sentence class and per record."""
from __future__ import annotations

from pipeline.components.linking import Entity, within_spans
from pipeline.components.sentence_classes import MAIN_CLASSES
from pipeline.corpus.documents import CLASSES, LABELS


def given_doc(nlp, document: dict):
    """The tokenised Doc of a labelled document, with its sentences given, so
    that the pipeline's classes and records line up with the gold ones."""
    doc = nlp.make_doc(document["text"])
    doc._.source = document.get("doc_id")
    doc._.given_sentences = [(s["start"], s["end"], s.get("section") or [], bool(s.get("is_footnote")))
                             for s in document["sentences"]]
    return doc


def prediction_of(doc, with_hand_written: bool = False) -> dict:
    """Entities, classes (and their scores) and records the pipeline put on a Doc."""
    sentences = list(doc.spans["sentences"])
    prediction = {
        "entities": [{"start": e.start_char, "end": e.end_char, "label": e.label_} for e in doc.ents],
        "labels": [s._.label for s in sentences],
        "records": list(doc._.records or []),
    }
    if any(s._.scores for s in sentences):
        prediction["scores"] = [s._.scores for s in sentences]
    if with_hand_written:
        # The hand-written linker on the same entities, as the learned linker's baseline.
        from pipeline.components.records import Records

        spans = [(s.start_char, s.end_char) for s in sentences]
        entities = [Entity(e["start"], e["end"], e["label"]) for e in prediction["entities"]]
        prediction["records_hand_written"] = [
            r for group in Records("rules").link(doc.text, spans, within_spans(spans, entities)) for r in group]
    return prediction


def predict_documents(documents: list[dict], nlp) -> list[dict]:
    """The pipeline's predictions for labelled documents (``nlp.pipe``, their
    sentences given)."""
    learned = "records" in nlp.pipe_names and nlp.get_pipe("records").linker == "learned"
    return [prediction_of(doc, learned) for doc in nlp.pipe(given_doc(nlp, d) for d in documents)]


def _prf(true_positive: int, predicted: int, gold: int) -> dict:
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4), "support": gold}


def _overlaps(a: dict, b: dict) -> bool:
    return a["start"] < b["end"] and b["start"] < a["end"]


def score_entities(pairs: list[tuple[list[dict], list[dict]]]) -> dict:
    """Strict P/R/F1 per label, and overlap match for every label (reported for METRIC)."""
    scores = {}
    for label in LABELS:
        tp = predicted = gold_count = overlap_tp_p = overlap_tp_g = 0
        for gold, pred in pairs:
            g = [e for e in gold if e["label"] == label]
            p = [e for e in pred if e["label"] == label]
            gold_set = {(e["start"], e["end"]) for e in g}
            tp += sum((e["start"], e["end"]) in gold_set for e in p)
            predicted += len(p)
            gold_count += len(g)
            overlap_tp_p += sum(any(_overlaps(e, x) for x in g) for e in p)
            overlap_tp_g += sum(any(_overlaps(e, x) for x in p) for e in g)
        strict = _prf(tp, predicted, gold_count)
        precision = overlap_tp_p / predicted if predicted else 0.0
        recall = overlap_tp_g / gold_count if gold_count else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[label] = {**strict, "overlap_f1": round(f1, 4)}
    return scores


def score_classes(gold: list[str], predicted: list[str]) -> dict:
    per_class = {}
    for label in CLASSES:
        tp = sum(g == p == label for g, p in zip(gold, predicted))
        per_class[label] = _prf(tp, sum(p == label for p in predicted), sum(g == label for g in gold))
    macro = sum(per_class[c]["f1"] for c in MAIN_CLASSES) / len(MAIN_CLASSES)
    confusion = {g: {p: sum(1 for a, b in zip(gold, predicted) if a == g and b == p) for p in CLASSES} for g in CLASSES}
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0
    return {"per_class": per_class, "macro_f1_main": round(macro, 4), "accuracy": round(accuracy, 4), "confusion": confusion}


def _record_key_matches(gold: dict, predicted: dict) -> bool:
    if gold["value"] != predicted["value"] or gold["unit"] != predicted["unit"]:
        return False
    if gold["direction"] != predicted["direction"] or gold["baseline_type"] != predicted["baseline_type"]:
        return False
    if gold["metric"] is None or predicted["metric"] is None:
        return gold["metric"] == predicted["metric"]
    return bool(set(gold["metric"].lower().split()) & set(predicted["metric"].lower().split()))


def score_records(pairs: list[tuple[dict, list[dict], list[dict]]]) -> dict:
    """A record is right when value, unit, direction and baseline_type match and
    the metric overlaps (shares a word), for the same value span."""
    tp = predicted_count = gold_count = 0
    for _, gold, predicted in pairs:
        by_span = {tuple(r["span"]): r for r in gold}
        for record in predicted:
            match = by_span.get(tuple(record["span"]))
            tp += bool(match and _record_key_matches(match, record))
        predicted_count += len(predicted)
        gold_count += len(gold)
    return _prf(tp, predicted_count, gold_count)


def score_predictions(documents: list[dict], predictions: list[dict]) -> dict:
    """Scores of predictions made for labelled documents (same order)."""
    entity_pairs, gold_labels, predicted_labels, record_pairs, hand_written_pairs, class_scores = [], [], [], [], [], []
    for document, prediction in zip(documents, predictions):
        entity_pairs.append((document["entities"], prediction["entities"]))
        gold_labels.extend(s["label"] for s in document["sentences"])
        predicted_labels.extend(prediction["labels"])
        class_scores.extend(prediction.get("scores", []))
        record_pairs.append((document, document["records"], prediction["records"]))
        if "records_hand_written" in prediction:
            hand_written_pairs.append((document, document["records"], prediction["records_hand_written"]))
    result = {
        "documents": len(documents),
        "sentences": len(gold_labels),
        "entities": score_entities(entity_pairs),
        "classes": score_classes(gold_labels, predicted_labels),
        "records": score_records(record_pairs),
    }
    if hand_written_pairs:
        result["records_hand_written_linker"] = score_records(hand_written_pairs)
    if class_scores:
        result["classes"]["calibration"] = calibration(gold_labels, class_scores)
    return result


def _in_sentences(records: list[dict], sentences: list[dict], indices: set[int]) -> list[dict]:
    spans = [(sentences[i]["start"], sentences[i]["end"]) for i in indices]
    return [r for r in records if any(start <= r["span"][0] < end for start, end in spans)]


def breakdown(documents: list[dict], predictions: list[dict]) -> dict:
    """Scores per document form, and record scores per construction (on the
    records of the sentences that hold it, counted as in ``vnreport corpus
    constructions``): where the next labelling effort pays."""
    from pipeline.config import load_toml
    from pipeline.corpus.constructions import CONSTRUCTIONS_PATH, sentence_hits

    by_form: dict[str, list[int]] = {}
    for index, document in enumerate(documents):
        by_form.setdefault(document.get("form") or "unknown", []).append(index)
    forms = {form: score_predictions([documents[i] for i in indices], [predictions[i] for i in indices])
             for form, indices in sorted(by_form.items())}
    settings = load_toml(CONSTRUCTIONS_PATH)
    pairs: dict[str, list] = {}
    for document, prediction in zip(documents, predictions):
        for name, hits in sentence_hits(document, settings).items():
            sentences = set(hits) - {-1}
            if sentences:
                pairs.setdefault(name, []).append((
                    document, _in_sentences(document["records"], document["sentences"], sentences),
                    _in_sentences(prediction["records"], document["sentences"], sentences)))
    # A comparison without a figure has no record: nothing to score there.
    constructions = {name: score_records(value) for name, value in sorted(pairs.items())
                     if any(gold or predicted for _, gold, predicted in value)}
    return {"forms": forms, "constructions": constructions}


def evaluate_documents(documents: list[dict], nlp, with_breakdown: bool = False) -> dict:
    """Scores of one pipeline (trained, or the rule baseline) on labelled documents."""
    predictions = predict_documents(documents, nlp)
    result = score_predictions(documents, predictions)
    if "records" in nlp.pipe_names and nlp.get_pipe("records").linker == "learned":
        result["records_on_gold_entities"] = linkers_on_gold_entities(documents, nlp.get_pipe("records"))
    if with_breakdown:
        result["breakdown"] = breakdown(documents, predictions)
    return result


def linkers_on_gold_entities(documents: list[dict], learned) -> dict:
    """Record F1 of the learned linker and of the hand-written one given the
    gold entities: the linking alone, without the NER's errors."""
    from pipeline.components.records import Records

    scores = {}
    for name, linker in (("learned", learned), ("hand_written", Records("rules"))):
        pairs = []
        for document in documents:
            spans = [(s["start"], s["end"]) for s in document["sentences"]]
            entities = [Entity(e["start"], e["end"], e["label"]) for e in document["entities"]]
            records = [r for group in linker.link(document["text"], spans, within_spans(spans, entities)) for r in group]
            pairs.append((document, document["records"], records))
        scores[name] = score_records(pairs)
    return scores


ENTITY_SCORE_BINS = (0.0, 0.5, 0.9, 0.99, 1.0)


def entity_score_reliability(documents: list[dict], nlp) -> dict:
    """How often the pipeline's entities are right (exact span and label) at
    each level of the score pre-annotation gives them (``entity_scores``),
    and the area under the ROC curve of that score: whether a labeller can
    trust a high score and should look at a low one."""
    from sklearn.metrics import roc_auc_score

    from pipeline.annotate import entity_scorer

    component = entity_scorer(nlp)
    scores, right = [], []
    for document, doc in zip(documents, nlp.pipe(given_doc(nlp, d) for d in documents)):
        gold = {(e["start"], e["end"], e["label"]) for e in document["entities"]}
        scores.extend(component.entity_scores([doc])[0])
        right.extend((e.start_char, e.end_char, e.label_) in gold for e in doc.ents)
    bins = []
    for low, high in zip(ENTITY_SCORE_BINS, ENTITY_SCORE_BINS[1:]):
        inside = [r for s, r in zip(scores, right) if low <= s < high or (high == 1.0 and s == 1.0)]
        bins.append({"from": low, "to": high, "entities": len(inside),
                     "right": round(sum(inside) / len(inside), 4) if inside else None})
    auc = round(float(roc_auc_score(right, scores)), 4) if 0 < sum(right) < len(right) else None
    return {"entities": len(scores), "right": round(sum(right) / len(right), 4) if right else None, "bins": bins, "auc": auc}


def format_entity_scores(result: dict) -> str:
    lines = [f"entity scores of {result['entities']} predicted entities, {result['right']:.3f} right; "
             f"ROC AUC of the score for right vs wrong: {result['auc']}"]
    for row in result["bins"]:
        right = "-" if row["right"] is None else f"{row['right']:.3f}"
        lines.append(f"  score {row['from']:.2f}-{row['to']:.2f}: {row['entities']:5d} entities, right {right}")
    return "\n".join(lines)


def calibration(gold: list[str], scores: list[dict[str, float]]) -> dict:
    """Expected calibration error and log loss of the class probabilities."""
    import numpy

    from pipeline.components.sentence_classes import expected_calibration_error

    classes = sorted(scores[0])
    probabilities = numpy.array([[s.get(c, 0.0) for c in classes] for s in scores])
    truth = numpy.array([classes.index(g) if g in classes else -1 for g in gold])
    keep = truth >= 0
    probabilities, truth = probabilities[keep], truth[keep]
    log_loss = float(-numpy.log(numpy.clip(probabilities[numpy.arange(len(truth)), truth], 1e-12, None)).mean())
    return {"ece": expected_calibration_error(probabilities, truth), "log_loss": round(log_loss, 4)}


def evaluate(documents: list[dict], nlp=None, with_breakdown: bool = False) -> dict:
    """The trained pipeline (default: the shipped one) and the rule baseline on the same documents."""
    import pipeline

    nlp = nlp or pipeline.load()
    return {"models": evaluate_documents(documents, nlp, with_breakdown),
            "baseline": evaluate_documents(documents, pipeline.load("rules"), with_breakdown)}


def format_report(result: dict) -> str:
    lines = []
    models, baseline = result["models"], result["baseline"]
    lines.append(f"{models['documents']} documents, {models['sentences']} sentences")
    lines.append("")
    lines.append(f"{'entity':10} {'P':>6} {'R':>6} {'F1':>6} {'overlap F1':>10} | {'rules F1':>8} {'overlap':>8}  support")
    for label in LABELS:
        m, b = models["entities"][label], baseline["entities"][label]
        lines.append(f"{label:10} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} {m['overlap_f1']:10.3f} | "
                     f"{b['f1']:8.3f} {b['overlap_f1']:8.3f}  {m['support']}")
    lines.append("")
    lines.append(f"{'class':12} {'P':>6} {'R':>6} {'F1':>6} | {'rules F1':>8}  support")
    for label in CLASSES:
        m, b = models["classes"]["per_class"][label], baseline["classes"]["per_class"][label]
        lines.append(f"{label:12} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} | {b['f1']:8.3f}  {m['support']}")
    lines.append(f"macro-F1 (achievement, limitation, cause, task): {models['classes']['macro_f1_main']:.3f} "
                 f"(rules {baseline['classes']['macro_f1_main']:.3f})")
    if "calibration" in models["classes"]:
        c = models["classes"]["calibration"]
        lines.append(f"class probabilities: expected calibration error {c['ece']:.3f}, log loss {c['log_loss']:.3f}")
    lines.append("")
    lines.append("confusion (rows gold, columns predicted): " + " ".join(c[:5] for c in CLASSES))
    for gold_label in CLASSES:
        row = models["classes"]["confusion"][gold_label]
        lines.append(f"  {gold_label:12} " + " ".join(f"{row[p]:5d}" for p in CLASSES))
    r, rb = models["records"], baseline["records"]
    lines.append("")
    lines.append(f"records: P {r['precision']:.3f} R {r['recall']:.3f} F1 {r['f1']:.3f} (rules F1 {rb['f1']:.3f}), support {r['support']}")
    if "records_hand_written_linker" in models:
        h = models["records_hand_written_linker"]
        lines.append(f"  learned linker F1 {r['f1']:.3f}; hand-written linker on the same entities F1 {h['f1']:.3f}")
    if "records_on_gold_entities" in models:
        g = models["records_on_gold_entities"]
        lines.append(f"  on the gold entities: learned linker F1 {g['learned']['f1']:.3f}, hand-written {g['hand_written']['f1']:.3f}")
    if "breakdown" in models:
        lines.append("")
        lines.append(f"{'by document form':18} {'docs':>4} {'sents':>5} {'METRIC':>6} {'VALUE':>6} {'macro':>6} {'records':>7} | {'rules rec':>9}")
        for form, m in models["breakdown"]["forms"].items():
            b = baseline["breakdown"]["forms"][form]
            lines.append(f"{form:18} {m['documents']:4d} {m['sentences']:5d} {m['entities']['METRIC']['f1']:6.3f} "
                         f"{m['entities']['VALUE']['f1']:6.3f} {m['classes']['macro_f1_main']:6.3f} {m['records']['f1']:7.3f} | "
                         f"{b['records']['f1']:9.3f}")
        lines.append("")
        lines.append(f"{'records by construction':26} {'F1':>6} | {'rules':>6}  support")
        for name, m in models["breakdown"]["constructions"].items():
            b = baseline["breakdown"]["constructions"][name]
            lines.append(f"{name:26} {m['f1']:6.3f} | {b['f1']:6.3f}  {m['support']}")
    return "\n".join(lines)
