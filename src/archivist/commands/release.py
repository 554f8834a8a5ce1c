"""archivist release: sign an artifact version and tag it in GTO's format."""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from archivist.commands._common import add_json, formatter, repo_root, to_repo_path
from archivist.errors import EXIT_OK, ArchivistError, UsageError
from archivist.output import is_interactive, paint, print_json

HELP = """\
Release a DVC-tracked artifact: check its tags against the policy, check that the working
tree holds the bytes DVC records, hash them (sha256 per file, OpenSSF model signing format),
sign, commit the Sigstore bundle under .archivist/signatures/NAME/VERSION.sig with a release
event, and create the annotated tag NAME@VERSION (and NAME#STAGE#N with --stage) in GTO's
format, so `gto show` lists it.

  archivist release clf v1.2.0                       dvc.yaml artifacts: name, policy's method
  archivist release clf v1.2.0 --stage prod
  archivist release clf v1.2.0 --sign key --key release.key
  archivist release clf v1.2.0 --sign certificate --key signer.key \\
      --cert-chain signer.pem intermediate.pem
  archivist release models/clf v1.2.0 --json         an output path (GTO names allow no dots)
  archivist release clf v1.2.0 --at release/clf/v1.2.0   what a request tag points at
  archivist release --adopt clf@v0.9.0               sign a tag `gto register` made

Keyless (--sign sigstore) takes the OIDC identity from $SIGSTORE_IDENTITY_TOKEN, from CI's
ambient credentials (GitHub Actions: permissions: id-token: write), or a browser login on a
terminal. An encrypted --key is opened with $ARCHIVIST_KEY_PASSWORD. Nothing is written when
the release is refused. Push the tag afterwards: git push origin main NAME@VERSION.

Adopting a registry: tags made before signing.since (policy) are legacy, listed by verify as
unsigned and not failing; --adopt signs one of them in place (the bytes checked against
the DVC hash at the tagged commit) and commits the bundle, so verify TAG then passes.

exit codes: 0 released, 1 refused (tags, content, tag exists, signer not trusted),
2 usage or configuration error
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("release", help="sign an artifact version and tag it",
                       description=HELP, formatter_class=formatter())
    p.add_argument("name", metavar="NAME", nargs="?",
                   help="dvc.yaml artifacts: name, or output path")
    p.add_argument("version", metavar="VERSION", nargs="?",
                   help="SemVer with a leading v (v1.2.0)")
    p.add_argument("--adopt", metavar="NAME@VERSION",
                   help="sign the version an existing GTO tag registered; the tag stays")
    p.add_argument("--stage", metavar="STAGE", help="also assign this stage (NAME#STAGE#N)")
    p.add_argument("--sign", dest="method", choices=("sigstore", "key", "certificate"),
                   help="signing method (default: the policy's signing.method)")
    p.add_argument("--key", type=Path, metavar="PEM", help="private key (key, certificate)")
    p.add_argument("--cert-chain", type=Path, nargs="+", default=[], metavar="PEM",
                   help="signing certificate, then intermediates (certificate)")
    p.add_argument("-m", "--message", metavar="MESSAGE", help="release note for tag and commit")
    p.add_argument("--at", metavar="REV",
                   help="the commit the release was requested on (a request tag): refuse "
                        "unless HEAD records the same version of the artifact")
    add_json(p)
    p.set_defaults(run=run)


class _Bar:
    """A one-line byte counter on stderr, only on a terminal."""

    def __init__(self) -> None:
        self.done = 0
        self._lock = threading.Lock()
        self._shown = 0

    def __call__(self, n: int) -> None:
        with self._lock:
            self.done += n
            if self.done - self._shown >= 64 * 2**20:
                self._shown = self.done
                sys.stderr.write(f"\rhashing: {self.done / 2**20:,.0f} MiB")
                sys.stderr.flush()

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\r" + " " * 40 + "\r")


def run(args: argparse.Namespace) -> int:
    from archivist.release.create import ReleaseRefused, adopt_release, release_artifact

    if args.adopt and (args.name or args.version or args.stage or args.at):
        raise UsageError("--adopt TAG takes no NAME, VERSION, --stage or --at",
                         "archivist release --adopt clf@v1.0.0")
    if not args.adopt and not (args.name and args.version):
        raise UsageError("give NAME and VERSION (or --adopt NAME@VERSION)",
                         "archivist release clf v1.2.0")
    root = repo_root()
    try:
        repo_path: str | None = to_repo_path(root, args.name) if args.name else None
    except ArchivistError:
        repo_path = None
    bar = _Bar() if is_interactive() and not args.json else None
    try:
        if args.adopt:
            result = adopt_release(root, args.adopt, method=args.method, key=args.key,
                                   cert_chain=args.cert_chain, interactive=is_interactive(),
                                   progress=bar)
        else:
            result = release_artifact(
                root, args.name, repo_path, args.version, stage=args.stage,
                method=args.method, key=args.key, cert_chain=args.cert_chain,
                message=args.message, interactive=is_interactive(), at=args.at, progress=bar)
    except ReleaseRefused as refused:
        if bar:
            bar.close()
        if args.json:
            print_json({"released": False, "error": refused.message,
                        "problems": refused.problems, "hint": refused.hint})
        else:
            for problem in refused.problems:
                print(paint(problem, "red"))
        raise
    if bar:
        bar.close()
    if args.json:
        print_json({"released": True, **result.as_dict()})
        return EXIT_OK
    r = result.record
    verb = "adopted" if args.adopt else "finished" if result.resumed else "released"
    print(f"{verb} {r.tag}: {r.artifact} {r.label}")
    print(f"  signed by {r.signer} ({r.method}); digest {r.digest}")
    print(f"  bundle {r.bundle}; commit {result.commit[:10]}; tags "
          f"{', '.join(result.tags) or 'unchanged'}")
    if result.provenance is not None:
        print(f"  signed {result.provenance.lines()[0]}")
    print(f"  publish: git push origin HEAD {' '.join(result.tags)}".rstrip())
    return EXIT_OK
