"""``improved-gan turing create|invite|serve|results|token|remove``: the visual Turing test.

Section 4's human study:

* ``create STUDY --real SRC --generated SRC``: write a study folder (images under
  opaque names, the store) and print the owner's token once;
* ``invite STUDY --n N`` (or ``--labels FILE``): make invitation codes and links,
  one session per person;
* ``serve STUDY...``: run the web app for annotators and the owner;
* ``results STUDY``: print the statistics, write the exports (reads the store only);
* ``token STUDY``: replace the owner's token (the old one stops working);
* ``remove SLUG --database URL --yes``: delete a study's rows from a database.

Every failure a user can cause or fix (a bad source file, an unreachable or
wrong database, an unwritable path) ends in one line on stderr, exit status 2;
the web libraries are imported only when a command runs.

A database URL (``--database``, or the environment variable
``IMPROVED_GAN_TURING_DATABASE`` so that a password stays out of the shell
history) puts the store on a server such as PostgreSQL; without one it is
``turing.sqlite3`` inside the study folder.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Callable, Iterator

from improved_gan.errors import ConfigError, UserError
from improved_gan.runs.out_paths import path_argument
from improved_gan.source_names import check_image_count, describe_source
from improved_gan.turing import require_web_extra, security
from improved_gan.turing.config import (
    FEEDBACK_MODES,
    StudyFolder,
    StudyOptions,
    check_new_folder,
    check_planned_sessions,
    slug_from_folder,
)
from improved_gan.turing.export import Exports, results_text
from improved_gan.turing.invitations import (
    check_base_url,
    check_invitations_file,
    invitation_labels,
    invitations_csv,
)
from improved_gan.turing.selection import check_selection
from improved_gan.turing.serve_options import check_port, check_serve_options
from improved_gan.turing.whole_output import write_whole
from improved_gan.utils.atomic import AppearedMeanwhile, atomic_write_text
from improved_gan.utils.signals import stop_signals_deferred
from improved_gan.utils.progress import bars_shown

DATABASE_ENV = "IMPROVED_GAN_TURING_DATABASE"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "turing", help="human study: can people tell generated images from real ones?",
        description="The visual Turing test of Section 4: people judge real against "
        "generated images on a web page; see docs/turing.md.",
    )
    commands = p.add_subparsers(dest="turing_command", metavar="ACTION", required=True)

    _add_create(commands)
    _add_invite(commands)
    _add_serve(commands)

    r = commands.add_parser("results", help="print a study's results and write exports")
    r.add_argument("study", type=path_argument)
    r.add_argument("--json", type=path_argument, metavar="FILE", help="write the statistics as JSON")
    r.add_argument("--votes-csv", type=path_argument, metavar="FILE", help="write every vote as CSV")
    r.add_argument("--images-csv", type=path_argument, metavar="FILE", help="write per-image votes as CSV")
    _database_option(r)
    r.set_defaults(func=_plain_errors(results))

    t = commands.add_parser("token", help="replace the owner's token and print the new one")
    t.add_argument("study", type=path_argument)
    _database_option(t)
    t.set_defaults(func=_plain_errors(token))

    d = commands.add_parser("remove", help="delete a study's votes, sessions and images from a database")
    d.add_argument("slug", help="the study's name in URLs")
    d.add_argument("--yes", action="store_true", help="really delete (without it: say what would go)")
    _database_option(d, required=True)
    d.set_defaults(func=_plain_errors(remove))


def _add_create(commands) -> None:
    c = commands.add_parser("create", help="make a study folder from real and generated images")
    c.add_argument("study", type=path_argument, help="the study folder to create")
    c.add_argument("--real", required=True, help="real images: folder, .npz or dataset name (mnist, cifar10:test)")
    c.add_argument("--generated", required=True, help="generated images: run folder, folder or .npz")
    c.add_argument("--n-real", type=int, help="real images to use (the source's first N; default all)")
    c.add_argument("--n-generated", type=int,
                   help="generated candidates (a run's samples; a file's first N; default all)")
    c.add_argument("--generated-scores", type=path_argument, metavar="SCORES.npy",
                   help="per-image scores of the generated candidates, in their order")
    c.add_argument("--generated-top", type=float, metavar="FRACTION",
                   help="keep only this fraction of the best-scored candidates (0.01 = top 1%%)")
    c.add_argument("--per-session", type=int, default=50,
                   help="images per annotator, half real and half generated (default 50)")
    c.add_argument("--feedback", choices=FEEDBACK_MODES, default="random",
                   help="tell annotators after each vote whether they were right; "
                        "random: half of them (default)")
    c.add_argument("--attention-checks", type=int, default=6, metavar="N",
                   help="attention checks per session, made from real images taken out of the "
                        "pool: two thirds scrambled (answer Generated), a third unchanged (answer "
                        "Real); never counted (0: none; default 6)")
    c.add_argument("--attention-max-failures", type=int, default=1, metavar="K",
                   help="an annotator failing more than K checks is excluded from every "
                        "statistic (default 1)")
    c.add_argument("--tutorial", type=int, default=4, metavar="N",
                   help="practice images shown with their answer before the counted ones, taken "
                        "out of the pools (half real, half generated; 0: none; default 4)")
    c.add_argument("--hype-time", action="store_true",
                   help="HYPE-time: limit each image's exposure by a 3-down/1-up staircase from "
                        "100 to 1000 ms (50 ms steps), each image followed by a mask")
    c.add_argument("--sessions", type=int, default=40, metavar="N",
                   help="annotators you mean to invite: create refuses pools so small that the "
                        "feedback arm would show an image again after its kind was told (default 40)")
    c.add_argument("--allow-recurring-images", action="store_true",
                   help="create the study even if feedback-arm images would recur (a warning instead)")
    c.add_argument("--title", default="Real or generated?", help="heading annotators see")
    c.add_argument("--slug", help="the study's name in URLs (default: from the folder name)")
    c.add_argument("--seed", type=int, help="seed for a run's generator samples (default 0; only with a run folder)")
    c.add_argument("--data-dir", type=path_argument,
                   help="where datasets named by --real or --generated live (only with a dataset name)")
    c.add_argument("--no-progress", action="store_true",
                   help="no progress bars (sampling a run's generator, writing the images)")
    _database_option(c)
    c.set_defaults(func=_plain_errors(create))


def _add_invite(commands) -> None:
    i = commands.add_parser("invite", help="make invitation codes: one annotator session each")
    i.add_argument("study", type=path_argument)
    who = i.add_mutually_exclusive_group(required=True)
    who.add_argument("--n", type=int, help="this many unlabelled invitations")
    who.add_argument("--labels", type=path_argument, metavar="FILE",
                     help="one invitation per line of FILE, labelled with it (e.g. participant ids)")
    i.add_argument("--out", type=path_argument, metavar="FILE.csv",
                   help="write label,code,link rows here (a new file) instead of printing them")
    i.add_argument("--base-url", default="http://localhost:8000",
                   help="the server's address as annotators reach it, for the links")
    _database_option(i)
    i.set_defaults(func=_plain_errors(invite))


def _add_serve(commands) -> None:
    s = commands.add_parser("serve", help="run the study web server")
    s.add_argument("studies", type=path_argument, nargs="+", help="study folders to serve")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (0.0.0.0: all)")
    s.add_argument("--port", type=_port, default=8000)
    s.add_argument("--workers", type=int, default=1, help="server processes")
    s.add_argument("--proxy-headers", action="store_true",
                   help="trust X-Forwarded-Proto/For from a reverse proxy (for HTTPS)")
    s.add_argument("--forwarded-allow-ips", metavar="IPS",
                   help="comma-separated addresses of the proxies whose X-Forwarded headers are "
                        "trusted (default 127.0.0.1; '*' trusts any, only behind a firewall)")
    _database_option(s)
    s.set_defaults(func=_plain_errors(serve))


def _database_option(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """``--database URL``: ``required`` where the command has no store without one (``remove``). What leaving it
    out means here (``args.database_left_out``, None where it cannot be left out) is said when it is empty
    (:func:`_plain_errors`)."""
    default = os.environ.get(DATABASE_ENV) or None  # set but empty: as unset
    parser.add_argument(
        "--database", default=default, metavar="URL", required=required and default is None,
        help=f"SQLAlchemy URL of the store (default: ${DATABASE_ENV}"
             + (")" if required else ", else the study's SQLite file)"),
    )
    left_out = (f"the one in ${DATABASE_ENV}" if default is not None else None if required
                else "the study's SQLite file")
    parser.set_defaults(database_left_out=left_out)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    try:
        return check_port(port)
    except ConfigError as err:  # the rule of serve_options, which the server keeps too
        raise argparse.ArgumentTypeError(str(err)) from None


def _plain_errors(command):
    """``command`` with storage and file failures turned into one-line user errors."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        require_web_extra()
        if args.database is not None and not args.database.strip():  # what leaving it out means: _database_option
            instead = (f"leave it out for {args.database_left_out}" if args.database_left_out is not None
                       else f"set ${DATABASE_ENV} and leave it out")
            raise UserError(f"--database is empty; give a database URL, or {instead}")
        if args.database is not None:  # before the command's work (create reads its pools first)
            from improved_gan.turing.url_text import check_url_text

            check_url_text(args.database)  # what the text decides, before SQLAlchemy is imported

            from improved_gan.turing.database import parse_url

            parse_url(args.database)
        try:
            return command(args)
        except UserError:
            raise
        except BrokenPipeError:  # the reader went away (`results | head`): not an error
            _quiet_stdout()
            return 0
        except Exception as err:
            message = _plain_message(err, args.database, getattr(args, "study", None))  # serve's: studies
            if message is None:
                raise
            raise UserError(message) from None

    return run


def _quiet_stdout() -> None:
    """Standard output, whose reader went away, becomes the null device: the flush at exit says nothing."""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115


def _plain_message(err: Exception, database: str | None, study: str | Path | None = None) -> str | None:
    """A one-line explanation of a failure the user can fix, or None for a bug; ``database``: the URL the user
    gave (``--database`` or the environment), named only then; ``study``: the command's study folder, whose disk
    tells a full one from a failing one (:func:`~improved_gan.turing.database.storage_full`). SQLAlchemy is not
    imported to word it: an error of SQLAlchemy's comes only from a command that imported it."""
    sqlalchemy_errors = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_errors is not None and isinstance(err, sqlalchemy_errors.SQLAlchemyError):
        from improved_gan.turing.database import store_file, storage_full  # SQLAlchemy's, imported already

        cause = str(getattr(err, "orig", None) or err).strip().splitlines()
        cause = cause[0] if cause else type(err).__name__
        if cause == "database is locked":
            return ("the database is locked: another process (a server, another command, an open sqlite3 "
                    "shell) held a write lock for as long as this command waited; try again once it is done "
                    "(nothing was changed)")
        if storage_full(err, store_file(database, study)):
            where = ("the database (--database)" if database is not None
                     else "the study's database (turing.sqlite3 in its folder)")
            return f"the disk holding {where} is full ({cause}); free some space there and run the command again"
        if database is not None:
            return (f"the database failed: {cause}; check the --database URL, that its server is running, and "
                    "that it holds study stores")
        return (f"the study's database (turing.sqlite3 in its folder) failed: {cause}; check that it is the "
                "file `improved-gan turing create` made, undamaged (restore it from a backup otherwise)")
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}"
    if isinstance(err, (zipfile.BadZipFile, EOFError)):
        return f"a source file is corrupt or truncated ({err}); check --real and --generated"
    return None


def create(args: argparse.Namespace) -> int:
    check_planned_sessions(args.sessions)
    options = StudyOptions(  # each option's rule (turing/config.py)
        slug=slug_from_folder(args.study) if args.slug is None else args.slug,
        title=args.title,
        per_session=args.per_session,
        feedback=args.feedback,
        attention_checks=args.attention_checks,
        attention_max_failures=args.attention_max_failures,
        tutorial=args.tutorial,
        hype_time=args.hype_time,
    )
    check_image_count(args.n_real, "--n-real")
    check_image_count(args.n_generated, "--n-generated")
    check_selection(args.generated_top, args.generated_scores, names=("--generated-top", "--generated-scores"))
    check_new_folder(args.study)  # before the (possibly slow) loading of images
    _check_source_flags(args)  # the sources' kinds, from their names alone
    # the images' and the study's modules (torch, the database): imported once the flags and the folder are checked
    from improved_gan.turing.create import PoolWarning, create_study
    from improved_gan.turing.sources import load_pool

    progress = bars_shown(not args.no_progress)
    real = _load(load_pool, args.real, "--real", n=args.n_real, seed=args.seed,
                 data_dir=args.data_dir, progress=progress)
    generated = _load(
        load_pool, args.generated, "--generated", n=args.n_generated, seed=args.seed,
        data_dir=args.data_dir, top_fraction=args.generated_top, scores=args.generated_scores,
        progress=progress,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PoolWarning)  # printed below, once
            created = create_study(args.study, options, real=real, generated=generated,
                                   database_url=args.database, progress=progress, planned_sessions=args.sessions,
                                   allow_recurring_images=args.allow_recurring_images)
    except KeyboardInterrupt as stop:  # what became of the staged images (create_study's note), said at once
        notes = "; ".join(getattr(stop, "__notes__", ()))
        args.interrupt_message = "interrupted: no study was created" + (f"; {notes}" if notes else "")
        raise
    for text in created.warnings:
        print(f"warning: {text}", file=sys.stderr)
    print(f"created study {created.slug!r} in {created.folder}: {created.n_real} real and "
          f"{created.n_generated} generated images, {options.per_session} per annotator, "
          f"feedback {options.feedback}, {options.attention_checks} attention checks, "
          f"{options.tutorial} practice images"
          + (", HYPE-time exposures" if options.hype_time else ""))
    print(f"owner token (shown once, keep it secret): {created.owner_token}")
    print(f"invite:      improved-gan turing invite {created.folder} --n 20 --out invitations.csv")
    print(f"serve it:    improved-gan turing serve {created.folder}")
    print(f"annotators:  http://HOST:PORT/s/{created.slug}/")
    print(f"results:     http://HOST:PORT/s/{created.slug}/results")
    return 0


def _check_source_flags(args: argparse.Namespace) -> None:
    """``--real`` is not a run's generator; ``--seed`` needs a run folder among the sources, ``--data-dir`` a
    dataset name: never silently unused."""
    real_kind = describe_source(args.real)
    if real_kind == "run":
        raise UserError(f"--real {args.real} is a run folder: its images are generated; name real images (a "
                        "folder, an .npz or a dataset such as mnist:test) (nothing was written)")
    kinds = {real_kind, describe_source(args.generated)}
    if args.seed is not None and "run" not in kinds:
        raise UserError(f"--seed {args.seed} draws a run's generator samples, but neither --real nor --generated "
                        "is a run folder; leave it out (nothing was written)")
    if args.data_dir is not None and "dataset" not in kinds:
        raise UserError(f"--data-dir {args.data_dir} is where datasets live, but neither --real nor --generated "
                        "names a dataset (e.g. mnist:test); leave it out (nothing was written)")
    if args.seed is None:
        args.seed = 0


def _load(load_pool, source: str, option: str, **kwargs):
    """``load_pool(source, ...)``, a source that cannot be decoded being a one-line error."""
    from improved_gan.image_sources import UnreadableFile  # torch, as above

    try:
        return load_pool(source, **kwargs)
    except UnreadableFile as err:  # say which option named the file
        raise UserError(f"{option} {err}") from None
    except UserError:
        raise
    except (OSError, ValueError, EOFError) as err:  # PIL's and NumPy's decoding errors
        raise UserError(f"{option} {source}: cannot read its images ({err})") from None


def invite(args: argparse.Namespace) -> int:
    """The codes are shown before they count, or never count: the file of ``--out`` is written first and removed
    again if the codes are not stored (a full disk, a stop, a database that fails); printed, they are printed first,
    whole (an output closed early stores none: :func:`_print_invitations`), and a failure to store them says the
    codes printed open nothing. The commit and what follows it are one step that no stop signal cuts in two
    (:func:`_commit_then_show`)."""
    check_base_url(args.base_url)  # before any code is made: a code behind a broken link is a lost seat
    labels = invitation_labels(args.n, args.labels)
    if args.out is not None:
        check_invitations_file(args.out)
    from improved_gan.turing.served import ServedStudy  # the web stack and the database: once the flags are checked

    served = ServedStudy.open(args.study, database_url=args.database, stores="invitation")
    try:
        codes = [security.new_token() for _ in labels]  # made here: the file holds them before they are stored
        table = invitations_csv(args.base_url, served.slug, codes, labels)
        with _commit_then_show() as before_commit:
            try:
                if args.out is not None:
                    _write_invitations(args.out, table)
                else:
                    args.interrupt_message = (f"interrupted before the {len(codes)} invitation codes were stored: "
                                              "no invitation was made (any code printed opens nothing)")
                    _print_invitations(table, len(codes))
                served.store.add_invitations(served.study, labels, codes=codes, before_commit=before_commit)
            except BaseException as err:
                if args.out is not None:
                    _remove_unstored(args.out, table)
                else:
                    _say_printed_unstored(err, len(codes), args.database, args.study)
                raise
            if args.out is not None:
                print(f"wrote {len(codes)} invitations to {args.out} (keep it private: each code is a seat)",
                      flush=True)
            total, used = served.store.invitation_counts(served.study.id)
            print(f"study {served.slug!r}: {total} invitations, {used} used", file=sys.stderr)
            args.interrupt_message = (f"interrupted once the {len(codes)} invitations were made and "
                                      + ("printed" if args.out is None else f"written to {args.out}"))
    finally:
        served.store.close()
    return 0


def _print_invitations(table: str, n: int) -> None:
    """Print ``table`` whole, before its ``n`` codes are stored: an output closed before it took all of it
    (`invite --n 3000 | head -1`, which exited 0 with every code stored and most never shown) is a UserError,
    and no code is stored. A reader that stops reading after the whole table went into the pipe is not seen."""
    try:
        write_whole(table)
    except BrokenPipeError:
        _quiet_stdout()
        raise UserError(f"the output closed before the {n} invitation codes were all written, so none was stored "
                        "(no invitation was made; any code the reader took opens nothing); let the whole list "
                        "through, or write it to a file with --out FILE") from None


def _say_printed_unstored(err: BaseException, n: int, database: str | None, study: str | Path) -> None:
    """After the ``n`` codes were printed, storing them failed with ``err``: a failure the user can fix becomes a
    UserError that says so (a UserError, a stop or a bug goes on as it is, its line or note saying nothing was
    made)."""
    if isinstance(err, UserError) or not isinstance(err, Exception):
        return
    message = _plain_message(err, database, study)
    if message is not None:
        raise UserError(f"{message}; the {n} invitation codes printed were not stored: they open nothing (no "
                        "invitation was made)") from None


@contextlib.contextmanager
def _commit_then_show() -> Iterator[Callable[[], None]]:
    """Yields the ``before_commit`` of a store write whose result is shown once (invitation codes, a token): from
    the commit to the end of the block the stop signals wait (``stop_signals_deferred``), so none lands between
    the commit and the output that shows what it made, the one copy; a stop before the commit rolls it back."""
    with contextlib.ExitStack() as held:
        yield lambda: held.enter_context(stop_signals_deferred())


def _write_invitations(path: Path, table: str) -> None:
    """Publish ``table`` at ``path`` without replacing: the file, new when checked, may have been written meanwhile
    by another invite (two at once both exited 0, the second's file replacing the first's codes: seats nobody saw);
    then this call stores nothing."""
    try:
        atomic_write_text(path, table, replace=False)
    except AppearedMeanwhile as err:
        raise UserError(f"{err}; invitation codes are shown once, so choose a new file (no invitation was "
                        "made)") from None
    except OSError as err:  # a full disk: its message alone names neither the file nor what became of the codes
        raise UserError(f"cannot write {path} ({err.strerror or err}); no invitation was made") from None


def _remove_unstored(path: Path, table: str) -> None:
    """Remove ``path`` if it holds ``table``, whose codes were not stored: a file of codes that open nothing must
    not be handed out. Its content proves it this call's (no other file holds these random codes)."""
    with stop_signals_deferred():  # a second Ctrl-C does not keep the file
        try:
            if path.read_bytes() == table.encode("utf-8"):
                path.unlink()
        except FileNotFoundError:  # not written: the disk was full, or the stop came first
            pass


def remove(args: argparse.Namespace) -> int:
    from improved_gan.turing.store import Store  # the database (SQLAlchemy)

    store = Store.open(args.database, create=False)
    try:
        study = store.named_study(args.slug)
        votes = len(store.votes(study.id))
        sessions = store.session_count(study.id)
        if not args.yes:
            raise UserError(f"study {args.slug!r} has {sessions} sessions and {votes} votes; "
                            "add --yes to delete them from the database")
        with _commit_then_show() as before_commit:  # a stop after the delete no longer says nothing was done
            store.remove_study(study.id, before_commit=before_commit)
            print(f"removed study {args.slug!r} ({sessions} sessions, {votes} votes) from the database; "
                  "its folder, if any, is left as it is", flush=True)
            args.interrupt_message = f"interrupted once study {args.slug!r} was removed from the database"
    finally:
        store.close()
    return 0


def serve(args: argparse.Namespace) -> int:
    check_serve_options(host=args.host, port=args.port, workers=args.workers,  # before the web stack is imported,
                        forwarded_allow_ips=args.forwarded_allow_ips)  # as is a folder that holds no study
    for folder in args.studies:
        StudyFolder(Path(folder).resolve()).read_manifest()
    from improved_gan.turing.server import serve as run_server  # the web stack (uvicorn)

    host = "localhost" if args.host in ("127.0.0.1", "0.0.0.0") else args.host
    host = f"[{host}]" if ":" in host else host  # an IPv6 address in a link is bracketed

    def announce(studies) -> None:  # once the address and every study passed their checks
        for served in studies:
            print(f"study {served.slug!r}: annotators http://{host}:{args.port}/s/{served.slug}/  "
                  f"owner http://{host}:{args.port}/s/{served.slug}/results", flush=True)

    run_server(args.studies, host=args.host, port=args.port, database_url=args.database,
               workers=args.workers, proxy_headers=args.proxy_headers,
               forwarded_allow_ips=args.forwarded_allow_ips, announce=announce)
    return 0


def results(args: argparse.Namespace) -> int:
    exports = Exports(json=args.json, votes_csv=args.votes_csv, images_csv=args.images_csv)
    exports.check()
    from improved_gan.turing.served import ServedStudy  # the web stack and the database: once the flags are checked
    from improved_gan.turing.stats import summarize_study  # the database (SQLAlchemy), through the store

    served = ServedStudy.open(args.study, database_url=args.database, read_only=True)
    try:
        study = served.current_study()
        votes = served.store.votes(study.id)
        summary = summarize_study(served.store, study, votes)
    finally:
        served.store.close()
    print(results_text(study, summary), end="")
    for path in exports.write(study, summary, votes):
        print(f"wrote {path}")
    return 0


def token(args: argparse.Namespace) -> int:
    """The new token's hash is committed and the token printed in one step (:func:`_commit_then_show`): a stop
    signal cannot leave the old token replaced by one nobody saw."""
    StudyFolder(Path(args.study).resolve()).read_manifest()  # no study there: said before the database is imported
    from improved_gan.turing.served import ServedStudy  # the web stack and the database

    served = ServedStudy.open(args.study, database_url=args.database, stores="new owner token")
    try:
        study_id = served.current_study().id
        new_token = security.new_token()
        with _commit_then_show() as before_commit:
            served.store.set_owner_token_hash(study_id, security.hash_token(new_token), before_commit=before_commit)
            print(f"new owner token for {served.slug!r} (the old one no longer works): {new_token}", flush=True)
            args.interrupt_message = "interrupted once the new owner token was printed (the old one no longer works)"
    finally:
        served.store.close()
    return 0
