"""The clones feature's commands: `plagiarism`, `clones`, `train clones` (the contrastive clone
encoder) and `eval clones`. Registered by ``codeintel.cli`` (``register``); arguments are parsed
here and the work is done by ``codeintel.clones``."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click

from codeintel import cli_support as support
from codeintel.cli_support import (EXIT_NOTHING_FOUND, EXIT_STORE, EXIT_USAGE, Failure, check_language, eval_model,
                                   json_option, repo_option)
from codeintel.store import Store, find_store, store_path

from ..models.extras import needs_torch



def register(main, train, eval_) -> None:
    main.add_command(plagiarism)
    main.add_command(clones)
    train.add_command(train_clones_cmd)
    eval_.add_command(eval_clones)


def _corpus_programs(paths, split, limit, language):
    from .contrastive import Program
    from .evaluate import read_labelled

    programs, card = [], []
    for path in paths:
        records = read_labelled(path, split, limit)
        for r in records:
            programs.append(Program(r["code"].encode("utf-8", "surrogateescape"), r.get("language") or language,
                                    str(r["label"]), "label:" + str(r["label"])))
        card.append({"file": Path(path).name, "bytes": Path(path).stat().st_size, "programs": len(records),
                     "split_used": split, "labels": len({str(r["label"]) for r in records})})
    return programs, card


def _repository_programs(root: Path, min_tokens: int, limit):
    """The indexed functions of the repository (no labels; the validation split is by file)."""
    from .contrastive import Program

    programs = []
    with support.open_store(str(root)) as store:
        for path, language, content, spans in store.function_spans():
            for _qualname, _kind, start, end, _line in spans:
                code = content[start:end]
                if code.count(b"\n") + 1 >= 3 and len(code.split()) >= min_tokens:
                    programs.append(Program(code, language, None, "file:" + path))
                if limit and len(programs) >= limit:
                    return programs
    return programs


@click.command("clones")
@click.option("--corpus", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Labelled programs, JSONL(.gz): id, label, code, optional language and split "
                   "(POJ-104's format); programs with the same label are clones. Default: the "
                   "functions of the indexed repository, without labels.")
@click.option("--split", default=None, help="Only the corpus records whose `split` is this (e.g. train).")
@click.option("--language", default=None, help="Language of corpus records that name none (cpp for POJ-104).")
@click.option("--limit", type=click.IntRange(4), default=None, help="At most this many programs per source.")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Repository whose functions to learn from (no --corpus), and whose "
                   ".codeintel/models/clones/ receives the model (default: the nearest index).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Save the model in this folder instead.")
@click.option("--objective", default="simclr", show_default=True, type=click.Choice(["simclr", "moco"]))
@click.option("--representation", default="tokens", show_default=True, type=click.Choice(["tokens", "ast", "tokens+ast"]))
@click.option("--transforms", default="rename,comments,dead_code,if_swap", show_default=True,
              help="Transformations that make the training views (the others are held out).")
@click.option("--views", default=2, show_default=True, type=click.IntRange(0, 8), help="Rewrites per program.")
@click.option("--buckets", default=65536, show_default=True, type=click.IntRange(256, 1 << 22))
@click.option("--dim", default=128, show_default=True, type=click.IntRange(8, 1024))
@click.option("--ngrams", default=3, show_default=True, type=click.IntRange(1, 6))
@click.option("--epochs", default=12, show_default=True, type=click.IntRange(1, 1000))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(4, 8192))
@click.option("--lr", default=2e-3, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--temperature", default=0.1, show_default=True, type=click.FloatRange(0, 10, min_open=True))
@click.option("--feature-dropout", default=0.3, show_default=True, type=click.FloatRange(0, 0.9),
              help="Share of a view's n-grams dropped at random while training.")
@click.option("--max-steps", default=0, type=click.IntRange(0), help="Stop after this many steps (0 = none).")
@click.option("--eval-every", default=0, type=click.IntRange(0), help="Validate every N steps (0 = each epoch).")
@click.option("--patience", default=3, show_default=True, type=click.IntRange(0))
@click.option("--min-tokens", default=30, show_default=True, type=click.IntRange(1),
              help="Repository functions shorter than this are not learned from.")
@click.option("--lexical-dim", default=1024, show_default=True, type=click.IntRange(0, 8192),
              help="Dimensions of the lexical channel (TF-IDF of token n-grams, IDF fitted on the training "
                   "programs) beside the learned vector; 0: none.")
@click.option("--lexical-weight", default=None, type=click.FloatRange(0, 1),
              help="Weight of the learned cosine against the lexical one (default: chosen on the validation labels).")
@click.option("--encoder-from", type=click.Path(exists=True, file_okay=False), default=None,
              help="Reuse this clones model's learned encoder (its representation and sizes) instead of "
                   "training one; only the lexical channel is fitted.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@needs_torch
def train_clones_cmd(corpus, split, language, limit, repo, output, objective, representation, transforms, views,
                     buckets, dim, ngrams, epochs, batch_size, lr, temperature, feature_dropout, max_steps, eval_every,
                     patience, min_tokens, lexical_dim, lexical_weight, encoder_from, seed, as_json):
    """Train the clone encoder contrastively (SimCLR or MoCo) on labelled programs or on this
    repository's functions, and save it in the model registry."""
    from ..models.registry import find_repo_root, repo_model_dir
    from ..models.training import TrainConfig
    from .contrastive import CloneTrainSettings, train_clone_encoder
    from .evaluate import EvalInputError

    support.check_language(language)
    root = Path(repo) if repo else (find_repo_root(Path.cwd()) or Path.cwd())
    try:
        if corpus:
            programs, corpora = _corpus_programs(corpus, split, limit, language)
        else:
            programs = _repository_programs(root, min_tokens, limit)
            corpora = [{"repository": str(root.resolve()), "functions": len(programs)}]
    except EvalInputError as exc:
        raise support.Failure(str(exc), support.EXIT_USAGE) from None
    max_words = 512
    if encoder_from:   # the reused encoder's own representation and sizes
        try:
            reused = json.loads((Path(encoder_from) / "config.json").read_text(encoding="utf-8"))
            representation, max_words = reused["representation"], int(reused["max_words"])
            buckets, dim, ngrams = (int(reused["encoder"][k]) for k in ("buckets", "dim", "ngrams"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise support.Failure(f"{encoder_from}: not a clones model ({type(exc).__name__}: {exc})",
                              support.EXIT_USAGE) from None
        if lexical_dim == 0:
            raise support.Failure("--encoder-from fits only the lexical channel: it needs --lexical-dim > 0",
                              support.EXIT_USAGE)
    settings = CloneTrainSettings(representation=representation, objective=objective, buckets=buckets, dim=dim,
                                  ngrams=ngrams, max_words=max_words, views=views,
                                  train_transforms=tuple(t for t in transforms.split(",") if t),
                                  temperature=temperature, feature_dropout=feature_dropout, seed=seed,
                                  lexical_dim=lexical_dim, lexical_weight=lexical_weight, encoder_from=encoder_from)
    out_dir = Path(output) if output else repo_model_dir(root, "clones")
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, patience=patience,
                         eval_every_steps=eval_every, max_steps=max_steps, weight_decay=0.01,
                         checkpoint_dir=out_dir.parent / (out_dir.name + ".checkpoints"))
    meta = {"corpora": corpora, "command": " ".join(["codeintel", *sys.argv[1:]]),
            "packages": support.package_versions()}
    log = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    try:
        summary = train_clone_encoder(programs, out_dir, settings, config, meta,
                                      progress=not as_json and sys.stderr.isatty(), log=log)
    except ValueError as exc:
        raise support.Failure(str(exc), support.EXIT_USAGE) from None
    summary.pop("history", None)
    if as_json:
        support.emit_json(summary)
    else:
        found = (f"validation MAP@R {summary['val_map_at_r']}" if "val_map_at_r" in summary else
                 f"validation nearest-view accuracy {summary['val_view_top1']}")
        if summary.get("lexical_weight") is not None:
            found += f"; lexical channel, learned weight {summary['lexical_weight']}"
            if "val_map_at_r_with_lexical" in summary:
                found += f": validation MAP@R {summary['val_map_at_r_with_lexical']}"
        click.echo(f"trained {summary['model']} in {summary['seconds']}s ({summary['steps']} steps, best at "
                   f"step {summary['best_step']}; {found})")


learned_threshold_option = click.option(
    "--learned-threshold", type=click.FloatRange(-1, 1), default=None,
    help="Learned cosine from which a pair is reported even when its fragments are below --threshold "
         "(only with a clones model; default 0.95 for clones, 0.9 for plagiarism).")


no_learned_option = click.option("--no-learned", is_flag=True,
                                 help="Fragment similarity only, even when a clones model is active.")


def _clone_encoder(root: Optional[Path], no_learned: bool):
    from codeintel.clones.embeddings import learned_encoder

    return learned_encoder(root, enabled=not no_learned)


def _embedding_progress(as_json: bool):
    """A progress bar while embeddings are computed (on a terminal only), as a context."""
    import contextlib

    bar, update = support.progress_reporter(not as_json and sys.stderr.isatty())

    @contextlib.contextmanager
    def running():
        if bar:
            bar.start()
        try:
            yield update
        finally:
            if bar:
                bar.stop()

    return running()


def _archive_store(index: str, create: bool) -> Store:
    """An archive of past submissions: a store file, or a folder holding .codeintel/index.db."""
    path = Path(index)
    if path.is_dir():
        path = store_path(path)
    if not create and not path.is_file():
        raise Failure(f"{index}: no such archive store", EXIT_USAGE)
    if path.is_dir() or not path.parent.is_dir():
        raise Failure(f"{index}: not a store file in an existing folder", EXIT_USAGE)
    return Store.open(path, create=create)


@click.command()
@click.argument("dirs", nargs=-1, required=True, type=click.Path())
@click.option("--template", "templates", multiple=True, type=click.Path(),
              help="Starter code (file or folder; repeatable): its fingerprints are ignored.")
@click.option("--against", "against", type=click.Path(), default=None,
              help="An archive store of past submissions to compare the new ones with.")
@click.option("--keep", "keep", type=click.Path(), default=None,
              help="Add (or replace) these submissions in this archive store afterwards.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Fragment similarity from which pairs are flagged and clustered.")
@learned_threshold_option
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True,
              help="Compare in full (fragments) this many of the best pairs.")
@click.option("--top", type=click.IntRange(0), default=20, show_default=True, help="Pairs shown in the table.")
@click.option("--show", type=click.IntRange(0), default=3, show_default=True,
              help="Pairs whose fragments are shown side by side.")
@click.option("--html", "html_file", type=click.Path(), default=None, help="Write a standalone HTML report.")
@click.option("--csv", "csv_file", type=click.Path(), default=None, help="Write the ranked pairs as CSV ('-': stdout).")
@no_learned_option
@json_option
def plagiarism(dirs, templates, against, keep, threshold, learned_threshold, limit, top, show, html_file, csv_file,
               no_learned, as_json):
    """Compare submissions: each file or sub-folder of each DIR is one submission."""
    from codeintel.clones.plagiarism import (DEFAULT_LEARNED_THRESHOLD, SubmissionError, apply_template,
                                    archive_submissions, detect, keep_in_archive, load_submissions,
                                    nearest_archived, template_hashes)
    from codeintel.clones.render import render_csv, render_html, render_text

    skipped: list = []   # what was not read (links, FIFOs, over a limit), shown with the run
    try:
        template = template_hashes(templates, skipped=skipped) if templates else None
        subs = load_submissions(dirs, skipped=skipped)
    except SubmissionError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    if not subs:
        raise Failure("no submissions (files or sub-folders) in " + ", ".join(dirs), EXIT_USAGE)
    if not against and len(subs) < 2:
        raise Failure("only one submission: give a folder with two or more, or --against an archive", EXIT_USAGE)
    apply_template(subs, template)
    from codeintel.models.registry import find_repo_root

    encoder = _clone_encoder(find_repo_root(Path.cwd()), no_learned)
    new_count = len(subs)
    vectors = None
    with _embedding_progress(as_json) as progress:
        if encoder is not None:
            from codeintel.clones.embeddings import submission_vectors

            vectors = submission_vectors(subs, encoder, progress)
        if against:
            with _archive_store(against, create=False) as store:
                kept, nearest = nearest_archived(store, encoder, vectors, progress) if encoder else ({}, set())
                subs += archive_submissions(store, subs, also=nearest)
            if vectors is not None:
                import numpy as np

                vectors = np.concatenate([vectors, np.stack([kept[s.name] for s in subs[new_count:]])
                                          if len(subs) > new_count else vectors[:0]])
    run = detect(subs, template, threshold, limit, vectors=vectors,
                 learned_name=encoder.model_id if encoder else None, only_new_vs_archive=bool(against),
                 learned_threshold=DEFAULT_LEARNED_THRESHOLD if learned_threshold is None else learned_threshold,
                 learned_dim=encoder.learned_dim if encoder else None)
    run.skipped = skipped
    if against:
        run.notes.append(f"{new_count} new submission(s) compared with {len(subs) - new_count} kept in {against} "
                         "that share code with them" + (" or are among their nearest by learned similarity"
                                                        if encoder else ""))
    if html_file:
        support.write_output(html_file, render_html(run))
    if csv_file:
        if csv_file == "-":
            click.echo(render_csv(run, escape=sys.stdout.isatty()), nl=False)
        else:
            support.write_output(csv_file, render_csv(run))
    if keep:
        with _archive_store(keep, create=True) as store:
            added = keep_in_archive(store, subs, vectors, encoder.model_id if encoder else None)
        run.notes.append(f"kept {added} submission(s) in {keep}")
    if as_json:
        support.emit_json(run.as_dict())
    elif csv_file != "-":
        render_text(run, support.console(), top=top, show=show)
    for label, target in (("HTML report", html_file), ("CSV", csv_file)):
        if target and target != "-" and not as_json:
            click.echo(f"wrote the {label} to {target}", err=True)


@click.command()
@click.argument("path", default=".", type=click.Path())
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.7, show_default=True,
              help="Fragment similarity from which a pair is reported.")
@learned_threshold_option
@click.option("--min-tokens", type=click.IntRange(1), default=40, show_default=True,
              help="Ignore functions with fewer tokens.")
@no_learned_option
@json_option
def clones(path, threshold, learned_threshold, min_tokens, no_learned, as_json):
    """Groups of near-duplicate functions in the indexed repository (under PATH)."""
    from codeintel.clones.repo import DEFAULT_LEARNED_THRESHOLD, find_clones

    target = Path(path)
    if not target.exists():
        raise Failure(f"{path}: no such file or directory", EXIT_USAGE)
    db = find_store(target if target.is_dir() else target.parent)
    if db is None:
        raise Failure(f"no index in {path} or any parent folder; run `codeintel index` first", EXIT_STORE)
    root = db.parent.parent
    prefix = target.resolve().relative_to(root.resolve()).as_posix() if target.resolve() != root.resolve() else ""
    encoder = _clone_encoder(root, no_learned)
    with Store.open(db, create=False) as store, _embedding_progress(as_json) as progress:
        data = find_clones(store, threshold, min_tokens, "" if prefix == "." else prefix, encoder=encoder,
                           learned_threshold=DEFAULT_LEARNED_THRESHOLD if learned_threshold is None
                           else learned_threshold, progress=progress)
    if as_json:
        support.emit_json(data)
        return
    console = support.console()
    learned = data["learned_model"] is not None
    if not data["groups"]:
        either = f" or learned >= {data['learned_threshold']}" if learned else ""
        console.print(f"no near-duplicate functions (similarity >= {threshold}{either}) among {data['compared']} "
                      f"functions of {min_tokens}+ tokens")
        sys.exit(EXIT_NOTHING_FOUND)
    from rich.table import Table

    def score(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    for n, g in enumerate(data["groups"], 1):
        title = f"group {n}: {len(g['functions'])} functions, fragment similarity up to {g['similarity']:.2f}"
        if learned:
            title += f", learned up to {score(g['learned_similarity'])}"
        table = Table(title=title, title_justify="left")
        for column in ("a", "b", "fragments") + (("learned",) if learned else ()) + ("shared lines",):
            table.add_column(column, justify="right" if column in ("fragments", "learned") else "left")
        for p in g["pairs"]:
            a, b = p["a"], p["b"]
            shared = ", ".join(f"{f['a']['start_line']}-{f['a']['end_line']}~{f['b']['start_line']}-{f['b']['end_line']}"
                               for f in p["fragments"][:3]) or "none"
            table.add_row(f"{a['qualname']} {a['path']}:{a['start_line']}-{a['end_line']}",
                          f"{b['qualname']} {b['path']}:{b['start_line']}-{b['end_line']}", score(p["similarity"]),
                          *((score(p["learned_similarity"]),) if learned else ()), shared)
        console.print(table)
    if learned:
        console.print(f"learned similarity by clones model {data['learned_model']} (pairs at fragments >= "
                      f"{threshold} or learned >= {data['learned_threshold']}); {data['embedded']} "
                      f"function(s) and file(s) embedded this run", style="dim")
    else:
        console.print("similarity: tokens covered by shared fragments (no learned clone model used)", style="dim")


@click.command("clones")
@click.option("--labelled", type=click.Path(dir_okay=False), default=None,
              help="JSONL(.gz): one program a line with id, label, code and optional language (MAP@R).")
@click.option("--split", default=None, help="Only the records whose `split` field is this (e.g. valid).")
@click.option("--limit", type=click.IntRange(2), default=None, help="At most this many labelled programs.")
@click.option("--language", default=None, help="Language of records that name none (e.g. cpp for POJ-104).")
@click.option("--pairs", type=click.Path(dir_okay=False), default=None,
              help="CSV with original,candidate,is_plagiarism,level (ROC-AUC per level); needs --root.")
@click.option("--root", type=click.Path(), default=None, help="Folder the paths of --pairs are relative to.")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A clones model folder to score too (default: the active clones model, if any).")
@click.option("--no-model", is_flag=True, help="Score the baselines only.")
@repo_option
def eval_clones(labelled, split, limit, language, pairs, root, model_dir, no_model, repo):
    """MAP@R (labelled programs) and ROC-AUC per level (plagiarism pairs) of each clone scorer, as JSON."""
    from codeintel.clones.evaluate import (EvalInputError, evaluate_pairs, evaluate_retrieval, model_scorers, read_labelled,
                                  read_pairs)

    if not labelled and not pairs:
        raise Failure("give --labelled FILE.jsonl and/or --pairs FILE.csv --root DIR", EXIT_USAGE)
    if pairs and not root:
        raise Failure("--pairs needs --root DIR (the folder its paths are relative to)", EXIT_USAGE)
    check_language(language)
    info = None if no_model else eval_model("clones", model_dir, Path(repo) if repo else Path.cwd())
    retrieval_extra, pairs_extra = model_scorers(info.path) if info is not None else ({}, {})
    out = {"model": None if info is None else {"path": str(info.path), "source": info.source,
                                               "corpora": info.meta.get("corpora"), "split": info.meta.get("split")}}
    skipped: list[str] = []      # lines of --labelled that are not usable programs: counted, not fatal
    try:
        if labelled:
            records = read_labelled(labelled, split, limit, skipped)
            if not records and skipped:
                raise Failure(f"{labelled}: no usable programs" + (f" ({len(skipped)} skipped; {skipped[0]})"
                                                                   if skipped else ""), EXIT_USAGE)
            out["retrieval"] = {"data": labelled, "split": split,
                                **evaluate_retrieval(records, language, extra=retrieval_extra)}
        if pairs:
            out["plagiarism"] = {"data": pairs, "root": root,
                                 **evaluate_pairs(read_pairs(pairs, root), root, extra=pairs_extra)}
    except EvalInputError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    out["skipped"] = {"programs": len(skipped), "why": skipped[:20]}
    support.emit_json(out)
