"""Speed and memory of batch annotation, against underthesea's own pos_tag.

Builds a corpus from the repo's documents (the seed and the written reports,
copied N times), then measures on it, in this one run:
  - underthesea pos_tag alone on the same lines the pipeline tags;
  - the whole pipeline (read, structure, tokens, NER, classes, records, write)
    in one process, and with N worker processes;
  - the CPU seconds of each stage (and of annotate --entity-scores' scoring);
  - documents/s, tokens/s and the peak resident memory of each process.
  - sentence splitting (and the whole structure stage) on single lines of
    200k and 400k characters and of 5 MB, with no line break: the time must
    grow with the length, not its square.
  - the command line: `vnreport --help` and the main commands' --help, and a
    rerun of a finished archive of 1,000 files, each timed from process start.
Prints the figures and the targets (whole pipeline within 0.6x pos_tag; 2
workers at least 1.7x faster than 1; under 1 GiB per worker; --help under
0.5 s; the rerun under 1.5 s).

    python benchmarks/run.py [--copies 4] [--workers 2] [--repeat 3] [--split-only] [--cli-only] [--against REV]
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


SOURCES = [ROOT / "corpus" / "bac-giang-2020-h1-report.txt", *sorted((ROOT / "corpus" / "documents").glob("*.txt"))]


def build_corpus(folder: Path, copies: int) -> list[Path]:
    files = []
    for copy in range(copies):
        for source in SOURCES:
            target = folder / f"{copy}-{source.name}"
            shutil.copy(source, target)
            files.append(target)
    return files


def time_pos_tag(files: list[Path]) -> tuple[float, int]:
    """underthesea alone on the lines the pipeline tags (one call per line)."""
    from underthesea import pos_tag

    from pipeline.io.read import read_document

    lines = [line for f in files for line in read_document(f).text.split("\n") if line.strip()]
    pos_tag(lines[0])  # load the model outside the timing
    started = time.perf_counter()
    tokens = sum(len(pos_tag(line)) for line in lines)
    return time.perf_counter() - started, tokens


def uncached_model(folder: Path) -> Path:
    """The shipped pipeline without the tokenizer's line cache: the corpus is
    copies of the same documents, and a worker that saw a line before would
    skip tagging it, a saving a real archive does not offer."""
    from pipeline.language import default_model_path

    model = folder / "vnreport"
    shutil.copytree(default_model_path(), model)
    config = model / "config.cfg"
    text = config.read_text(encoding="utf-8")
    assert re.search(r"(?m)^cache_lines = [1-9]\d*$", text)
    config.write_text(re.sub(r"(?m)^cache_lines = \d+$", "cache_lines = 0", text), encoding="utf-8")
    return model


def time_batch(folder: Path, workers: int, model: Path) -> dict:
    """The CLI's folder mode on the folder in a fresh process, timed from the
    process start (imports included); peak memory of the process tree."""
    out = Path(tempfile.mkdtemp(prefix="vnreport-bench-"))
    script = (
        "import json, resource, sys, time\n"
        "from pipeline.batch.folder import run_batch\n"
        f"summary = run_batch({str(folder)!r}, {str(out)!r}, workers={workers}, models_directory={str(model)!r},\n"
        "  progress_stream=open('/dev/null', 'w'))\n"
        "print(json.dumps({'work': summary.seconds - summary.startup_seconds,\n"
        "  'ok': summary.ok, 'sentences': summary.sentences,\n"
        "  'rss_self_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,\n"
        "  'rss_children_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))\n"
    )
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    figures["seconds"] = seconds
    figures["startup"] = seconds - figures["work"]
    tokens = 0
    for path in (out / "documents").glob("*.json"):
        document = json.loads(path.read_text(encoding="utf-8"))
        tokens += len(document["text"].split())  # words of the text: the same count for every run
    figures["words"] = tokens
    shutil.rmtree(out)
    return figures


def time_command(args: list[str], cwd: Path = ROOT) -> float:
    """Wall time of the installed command, from process start to exit."""
    vnreport = str(Path(sys.executable).parent / "vnreport")
    started = time.perf_counter()
    subprocess.run([vnreport, *args], capture_output=True, check=False, cwd=cwd)
    return time.perf_counter() - started


def time_cli(repeat: int) -> None:
    """--help of the main commands, and a rerun over a finished archive of 1,000 files."""
    commands = [[], ["annotate"], ["corpus"], ["corpus", "check"], ["corpus", "build"], ["corpus", "pre-annotate"],
                ["corpus", "export"], ["train"], ["evaluate"]]
    worst = 0.0
    for command in commands:
        seconds = median([time_command([*command, "--help"]) for _ in range(repeat)])
        worst = max(worst, seconds)
        print(f"vnreport {' '.join(command + ['--help'])}: {seconds:.2f} s")
    print(f"slowest --help: {worst:.2f} s (target < 0.5 s)")
    with tempfile.TemporaryDirectory(prefix="vnreport-archive-") as tmp:
        archive, out = Path(tmp) / "archive", Path(tmp) / "out"
        for i in range(1000):
            folder = archive / f"{i // 100:02d}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"report-{i:04d}.txt").write_text(
                f"Báo cáo số {i}\nDoanh thu quý I đạt {i + 1} tỷ đồng, tăng {i % 9 + 1}% so với cùng kỳ.\n", encoding="utf-8")
        first = time_command(["annotate", str(archive), "--out", str(out)])
        reruns = [time_command(["annotate", str(archive), "--out", str(out)]) for _ in range(repeat)]
        print(f"1,000 small files: first run {first:.1f} s; rerun with every file done {median(reruns):.2f} s "
              f"(runs: {', '.join(f'{s:.2f}' for s in reruns)} s; target < 1.5 s)")


def single_line(sources: list[Path], size: int, unit: str = "chars") -> str:
    """One line of report prose with no break: the repo's paragraphs repeated
    and joined by spaces, cut to ``size`` characters (or UTF-8 bytes)."""
    from pipeline.io.read import read_document

    paragraphs = [line.strip() for source in sources for line in read_document(source).text.split("\n") if line.strip()]
    line = " ".join(paragraphs)
    measure = (lambda text: len(text.encode("utf-8"))) if unit == "bytes" else len
    copies = size // measure(line) + 1
    text = " ".join([line] * copies)
    while measure(text) > size:  # cut to the size, at a character boundary
        text = text[:len(text) - max(1, (measure(text) - size) // 2)]
    return text


def time_split_line(sources: list[Path]) -> None:
    """Sentence splitting on one long line, the case that was quadratic."""
    from pipeline.components.structure import STRUCTURE_SETTINGS, analyse, split_sentences
    from pipeline.config import load_toml
    from pipeline.io.read import RawDocument

    abbreviations = frozenset(load_toml(STRUCTURE_SETTINGS)["abbreviations"])
    for size, unit, name in ((200_000, "chars", "200k characters"), (400_000, "chars", "400k characters"),
                             (5_000_000, "bytes", "5 MB")):
        text = single_line(sources, size, unit)
        started = time.perf_counter()
        sentences = split_sentences(text, 0, len(text), abbreviations)
        split = time.perf_counter() - started
        started = time.perf_counter()
        analyse(RawDocument("<line>", text, "txt"))
        structure = time.perf_counter() - started
        print(f"one line of {name} with no break ({len(text)} characters, {len(text.encode('utf-8'))} bytes): "
              f"sentence splitting {split:.2f} s ({len(sentences)} sentences), whole structure stage {structure:.2f} s")


def export_revision(revision: str, folder: Path) -> tuple[Path, Path]:
    """The repository at ``revision`` (code and its shipped models) in
    ``folder``/checkout, and a Python to run it with: one that sees this
    environment's packages but not this project. spaCy loads every factory
    registered as an entry point when it makes a pipeline, so in this
    environment the installed project's modules would be imported into the
    other revision's process."""
    checkout = folder / "checkout"
    checkout.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(checkout)], input=archive.stdout, check=True)
    packages = Path(sysconfig.get_paths()["purelib"])
    overlay = folder / "site-packages"
    overlay.mkdir()
    for entry in packages.iterdir():
        if not (entry.name.startswith(("vnreport", "__editable__")) or entry.name == "pipeline"):
            (overlay / entry.name).symlink_to(entry)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True)
    python = folder / "venv" / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (Path(purelib) / "vnreport-benchmark-overlay.pth").write_text(f"{overlay}\n", encoding="utf-8")
    return checkout, python


def time_revision(checkout: Path, python: Path, folder: Path) -> dict:
    """Folder mode of the code at another revision on the same corpus, 1
    worker, line cache off, run by that revision's own benchmark functions
    (so an old layout measures itself)."""
    script = (
        "import json, sys, tempfile\n"
        "from pathlib import Path\n"
        "sys.path.insert(0, 'benchmarks')\n"
        "import run\n"
        "settings = Path(tempfile.mkdtemp())\n"
        "uncached = run.uncached_model(settings) if hasattr(run, 'uncached_model') else run.uncached_config(settings)\n"
        f"print(json.dumps(run.time_batch(Path({str(folder)!r}), 1, uncached)))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(checkout)}
    result = subprocess.run([str(python), "-c", script], cwd=checkout, env=environment, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(f"the pipeline at {checkout} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def time_stages(files: list[Path]) -> None:
    """CPU seconds of each stage of the shipped pipeline on the corpus, in one
    process, the line cache off (``nlp.pipe`` run stage by stage), and of
    ``annotate --entity-scores``'s scoring. One run: the stages keep what they
    looked up per text (time expressions, metric keys), so a second run over
    the same documents would be faster than an archive's first."""
    import warnings

    import pipeline
    from pipeline.annotate import entity_scorer
    from pipeline.io.read import read_document

    texts = [read_document(f).text for f in files]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nlp = pipeline.load()
        nlp.tokenizer._cache_size = 0  # the copies repeat lines (see uncached_model)
        nlp("Năm 2020, tổng sản phẩm trên địa bàn tăng 6,5%.")  # models loaded outside the timing
        started = time.process_time()
        docs = [nlp.tokenizer(text) for text in texts]
        times = {"tokenizer": time.process_time() - started}
        for name, component in nlp.pipeline:
            started = time.process_time()
            docs = list(component.pipe(docs)) if hasattr(component, "pipe") else [component(d) for d in docs]
            times[name] = time.process_time() - started
        started = time.process_time()
        entity_scorer(nlp).entity_scores(docs)
        times["entity scores (--entity-scores)"] = time.process_time() - started
    print("CPU seconds per stage, one process: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in times.items()))


def after_start(figures: dict) -> float:
    """Seconds of annotating, without the run's start-up (imports, hashing, models)."""
    return figures["seconds"] - figures["startup"]


def median(runs: list, key=None):
    """The middle run (the lower middle of an even count), whole."""
    return sorted(runs, key=key)[(len(runs) - 1) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=4, help="copies of the repo's documents in the corpus")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the median is reported")
    parser.add_argument("--split-only", action="store_true", help="only the sentence splitting on long single lines")
    parser.add_argument("--cli-only", action="store_true", help="only --help and the rerun of a finished archive")
    parser.add_argument("--against", metavar="REV",
                        help="also time the pipeline of this git revision (1 worker, same corpus, interleaved) "
                             "and print how much slower or faster this one is")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if not args.split_only:
        time_cli(args.repeat)
    if args.cli_only:
        return
    time_split_line(SOURCES)
    if args.split_only:
        return
    with tempfile.TemporaryDirectory(prefix="vnreport-corpus-") as tmp:
        folder = Path(tmp)
        files = build_corpus(folder, args.copies)
        size = sum(f.stat().st_size for f in files)
        print(f"corpus: {len(files)} documents, {size / 1024:.0f} KiB")
        time_stages(files)
        # A shared 2-core machine drifts by a third between identical runs; the
        # three measurements are interleaved and repeated, and the median of
        # each is reported, with every run listed.
        pos_runs, one_runs, many_runs, other_runs = [], [], [], []
        other_folder = Path(tempfile.mkdtemp(prefix="vnreport-rev-")) if args.against else None
        other = export_revision(args.against, other_folder) if args.against else None
        with tempfile.TemporaryDirectory(prefix="vnreport-model-") as model_folder:
            model = uncached_model(Path(model_folder))
            for _ in range(args.repeat):
                pos_runs.append(time_pos_tag(files))
                one_runs.append(time_batch(folder, 1, model))
                many_runs.append(time_batch(folder, args.workers, model))
                if other is not None:
                    other_runs.append(time_revision(*other, folder))
        pos_seconds, pos_tokens = median(pos_runs)
        one = median(one_runs, key=after_start)
        many = median(many_runs, key=after_start)
        print(f"median of {args.repeat} runs of each")
        print(f"underthesea pos_tag alone: {pos_seconds:.1f} s, {pos_tokens / pos_seconds:.0f} tokens/s "
              f"(runs: {', '.join(f'{seconds:.1f}' for seconds, _ in pos_runs)} s)")
        for name, figures in (("1 worker", one), (f"{args.workers} workers", many)):
            peak = max(figures["rss_self_kb"], figures["rss_children_kb"]) / 1024
            work = after_start(figures)
            print(f"pipeline, {name}: {figures['seconds']:.1f} s from process start ({figures['startup']:.1f} s of it "
                  "starting up: imports, hashing, loading the pipeline), "
                  f"{figures['ok'] / figures['seconds']:.2f} documents/s, {figures['words'] / figures['seconds']:.0f} words/s; "
                  f"after start-up {figures['ok'] / work:.2f} documents/s, {figures['words'] / work:.0f} words/s; "
                  f"peak memory per process {peak:.0f} MiB")
        for name, runs in (("1 worker", one_runs), (f"{args.workers} workers", many_runs)):
            seconds = ", ".join(f"{after_start(r):.1f}" for r in runs)
            print(f"  {name}, every run after start-up: {seconds} s")
        # pos_tag is timed with its model already loaded, so the fair comparison
        # is the pipeline after start-up; the figure with it is printed too.
        one_work, many_work = after_start(one), after_start(many)
        print(f"whole pipeline / pos_tag alone: {one_work / pos_seconds:.2f}x after start-up, "
              f"{one['seconds'] / pos_seconds:.2f}x with it (target <= 0.6x)")
        print(f"speed-up with {args.workers} workers: {one_work / many_work:.2f}x after start-up, "
              f"{one['seconds'] / many['seconds']:.2f}x with it (target >= 1.7x)")
        print("peak memory per worker target: < 1024 MiB")
        if other is not None:
            then = after_start(median(other_runs, key=after_start))
            print(f"pipeline at {args.against}, 1 worker: {then:.1f} s after start-up = {then / pos_seconds:.2f}x pos_tag "
                  f"(runs: {', '.join(f'{after_start(r):.1f}' for r in other_runs)} s)")
            print(f"this pipeline / the one at {args.against}: {one_work / then:.2f}x after start-up")
            shutil.rmtree(other_folder)


if __name__ == "__main__":
    main()
