"""``improved-gan turing create|serve|results|token``: the visual Turing test (Section 4).

* ``create STUDY --real SRC --generated SRC``: write a study folder (images under
  opaque names, the store) and print the owner's token once;
* ``serve STUDY...``: run the web app for annotators and the owner;
* ``results STUDY``: print the statistics, write the exports;
* ``token STUDY``: replace the owner's token (the old one stops working).

A database URL (``--database``, or the environment variable
``IMPROVED_GAN_TURING_DATABASE`` so that a password stays out of the shell
history) puts the store on a server such as PostgreSQL; without one it is
``turing.sqlite3`` inside the study folder.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DATABASE_ENV = "IMPROVED_GAN_TURING_DATABASE"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "turing", help="human study: can people tell generated images from real ones?",
        description="The visual Turing test of Section 4: people judge real against "
        "generated images on a web page; see docs/turing.md.",
    )
    commands = p.add_subparsers(dest="turing_command", metavar="ACTION", required=True)

    c = commands.add_parser("create", help="make a study folder from real and generated images")
    c.add_argument("study", type=Path, help="the study folder to create")
    c.add_argument("--real", required=True, help="real images: folder, .npz or dataset name (mnist, cifar10:test)")
    c.add_argument("--generated", required=True, help="generated images: run folder, folder or .npz")
    c.add_argument("--n-real", type=int, help="real images to use (the source's first N; default all)")
    c.add_argument("--n-generated", type=int,
                   help="generated candidates (a run's samples; a file's first N; default all)")
    c.add_argument("--generated-scores", type=Path, metavar="SCORES.npy",
                   help="per-image scores of the generated candidates, in their order")
    c.add_argument("--generated-top", type=float, metavar="FRACTION",
                   help="keep only this fraction of the best-scored candidates (0.01 = top 1%%)")
    c.add_argument("--per-session", type=int, default=50,
                   help="images per annotator, half real and half generated (default 50)")
    c.add_argument("--feedback", choices=("on", "off", "random"), default="random",
                   help="tell annotators after each vote whether they were right; "
                        "random: half of them (default)")
    c.add_argument("--title", default="Real or generated?", help="heading annotators see")
    c.add_argument("--slug", help="the study's name in URLs (default: from the folder name)")
    c.add_argument("--seed", type=int, default=0, help="seed for a run's generator samples")
    c.add_argument("--data-dir", help="where datasets named by --real live")
    _database_option(c)
    c.set_defaults(func=create)

    s = commands.add_parser("serve", help="run the study web server")
    s.add_argument("studies", type=Path, nargs="+", help="study folders to serve")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: all)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--workers", type=int, default=1, help="server processes")
    s.add_argument("--proxy-headers", action="store_true",
                   help="trust X-Forwarded-Proto/For from a reverse proxy (for HTTPS)")
    _database_option(s)
    s.set_defaults(func=serve)

    r = commands.add_parser("results", help="print a study's results and write exports")
    r.add_argument("study", type=Path)
    r.add_argument("--json", type=Path, metavar="FILE", help="write the statistics as JSON")
    r.add_argument("--votes-csv", type=Path, metavar="FILE", help="write every vote as CSV")
    r.add_argument("--images-csv", type=Path, metavar="FILE", help="write per-image votes as CSV")
    _database_option(r)
    r.set_defaults(func=results)

    t = commands.add_parser("token", help="replace the owner's token and print the new one")
    t.add_argument("study", type=Path)
    _database_option(t)
    t.set_defaults(func=token)


def _database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database", default=os.environ.get(DATABASE_ENV), metavar="URL",
        help=f"SQLAlchemy URL of the store (default: ${DATABASE_ENV}, else the study's SQLite file)",
    )


def create(args: argparse.Namespace) -> int:
    from improved_gan.turing.config import StudyOptions, slug_from_folder
    from improved_gan.turing.create import check_new_folder, create_study
    from improved_gan.turing.sources import load_pool

    check_new_folder(args.study)  # before the (possibly slow) loading of images
    options = StudyOptions(
        slug=args.slug or slug_from_folder(args.study),
        title=args.title,
        per_session=args.per_session,
        feedback=args.feedback,
    )
    real = load_pool(args.real, n=args.n_real, seed=args.seed, data_dir=args.data_dir)
    generated = load_pool(
        args.generated, n=args.n_generated, seed=args.seed, data_dir=args.data_dir,
        top_fraction=args.generated_top, scores=args.generated_scores,
    )
    created = create_study(args.study, options, real=real, generated=generated,
                           database_url=args.database)
    print(f"created study {created.slug!r} in {created.folder}: {created.n_real} real and "
          f"{created.n_generated} generated images, {options.per_session} per annotator, "
          f"feedback {options.feedback}")
    print(f"owner token (shown once, keep it secret): {created.owner_token}")
    print(f"serve it:    improved-gan turing serve {created.folder}")
    print(f"annotators:  http://HOST:PORT/s/{created.slug}/")
    print(f"results:     http://HOST:PORT/s/{created.slug}/results")
    return 0


def serve(args: argparse.Namespace) -> int:
    from improved_gan.turing.config import StudyFolder
    from improved_gan.turing.server import serve as run_server

    host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    for folder in args.studies:
        slug = StudyFolder(folder).options().slug
        print(f"study {slug!r}: annotators http://{host}:{args.port}/s/{slug}/  "
              f"owner http://{host}:{args.port}/s/{slug}/results", flush=True)
    run_server(args.studies, host=args.host, port=args.port, database_url=args.database,
               workers=args.workers, proxy_headers=args.proxy_headers)
    return 0


def results(args: argparse.Namespace) -> int:
    from improved_gan.turing.export import images_csv, results_json, results_text, votes_csv
    from improved_gan.turing.served import ServedStudy
    from improved_gan.turing.stats import summarize
    from improved_gan.utils.atomic import atomic_write_text

    served = ServedStudy.open(args.study, database_url=args.database)
    try:
        study = served.current_study()
        votes = served.store.votes(study.id)
        summary = summarize(votes, served.store.images(study.id))
    finally:
        served.store.close()
    print(results_text(study, summary), end="")
    for path, text in ((args.json, lambda: results_json(study, summary)),
                       (args.votes_csv, lambda: votes_csv(votes)),
                       (args.images_csv, lambda: images_csv(summary))):
        if path is not None:
            atomic_write_text(path, text())
            print(f"wrote {path}")
    return 0


def token(args: argparse.Namespace) -> int:
    from improved_gan.turing import security
    from improved_gan.turing.served import ServedStudy

    served = ServedStudy.open(args.study, database_url=args.database)
    try:
        new_token = security.new_token()
        served.store.set_owner_token_hash(served.current_study().id, security.hash_token(new_token))
    finally:
        served.store.close()
    print(f"new owner token for {served.slug!r} (the old one no longer works): {new_token}")
    return 0
