#!/usr/bin/env python3
"""Post test reports to Triage from CI: Triage JSON, JUnit, NUnit, xUnit or TRX; files or folders.

Runs with the standard library alone (copy this file into any CI), or as `triage-upload`
when the triage package is installed.

    TRIAGE_TOKEN=... triage-upload --url https://triage.example.com --project dispatch \\
        --run-id "$GITHUB_RUN_ID-$GITHUB_RUN_ATTEMPT" --suite smoke reports/

A folder is one run and each report file in it one part of that run, named by its path in the
folder, so sending the same folder again changes nothing. Shard or matrix jobs posting to one
run id each give a --part of their own (a folder's files become <part>/<path>) and may say
--variant key=value (browser=webkit, os=linux) for the configuration they ran.

Files that are not test reports (Failsafe's failsafe-summary.xml, other JSON) are skipped with
a line saying so. A file Triage refuses is reported and the others are still sent.

Exit codes: 0 stored, 1 some file refused by Triage (its error is printed), 2 usage,
3 unreachable.
"""

import argparse
import gzip
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

RETRIES = 5
MAX_RETRY_AFTER_SECONDS = 60
TIMEOUT_SECONDS = 60
SUFFIXES = (".json", ".xml", ".trx")
XML_SUFFIXES = (".xml", ".trx")
# The root elements of the XML reports Triage reads (namespaces aside).
REPORT_ROOTS = {"testsuites", "testsuite", "test-run", "test-results", "assemblies", "TestRun"}


class Refused(Exception):
    """Triage answered 4xx: the report itself is wrong, retrying will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Unreachable(Exception):
    pass


@dataclass(frozen=True)
class Labels:
    """What the uploader adds to every report it sends: the part it is, how many parts the run
    will have, and the configuration it ran in."""

    part: str | None = None
    total_parts: int | None = None
    variant: dict[str, str] = field(default_factory=dict)
    # A part named after the file's path gives way to the part a JSON report names itself.
    part_from_path: bool = False


def _folder_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _one_file(paths: list[str]) -> bool:
    return len(paths) == 1 and Path(paths[0]).is_file()


def _files(paths: list[str], part: str | None) -> list[tuple[Path, str | None]]:
    """Each file to look at, with the part it is sent as.

    A single file is sent as `part` (none: the report is the whole run, as it always was).
    Otherwise every file is a part named by its path, so the same upload again names the same
    parts and is idempotent: relative to the folder when one folder is given, as given on the
    command line when several paths are. `part` then prefixes the names, so shard jobs sending
    their own folders to one run id do not collide."""
    if _one_file(paths):
        return [(Path(paths[0]), part)]
    named: dict[str, Path] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in _folder_files(path):
                name = file.relative_to(path) if len(paths) == 1 else file
                named.setdefault(name.as_posix(), file)
        elif path.is_file():
            named.setdefault(path.as_posix(), path)
        else:
            raise FileNotFoundError(f"no such file or folder: {raw}")
    return [(file, f"{part}/{name}" if part else name) for name, file in named.items()]


def _is_xml(path: Path) -> bool:
    return path.suffix.lower() in XML_SUFFIXES


class Broken(Exception):
    """A file that should be a report and cannot be read: counted as refused."""


def not_a_report(path: Path) -> str | None:
    """Why a readable file is not a test report Triage reads, or None when it is one. A file
    that cannot be read or parsed raises Broken: a runner that crashed mid-write must not
    pass unseen."""
    if _is_xml(path):
        try:
            # CI's own files, read only up to the root element's start; the uploader stays
            # standard library only (expat bounds what entities may expand to by itself).
            _, root = next(ElementTree.iterparse(path, events=("start",)))  # noqa: S314
        except (ElementTree.ParseError, StopIteration, OSError, ValueError, LookupError) as error:
            # ValueError, LookupError: an encoding that Python does not know.
            raise Broken(f"not well-formed XML ({error or 'empty'})") from None
        tag = root.tag.rpartition("}")[2]
        return None if tag in REPORT_ROOTS else f"its root element <{tag}> is not a test report"
    try:
        document = json.loads(path.read_bytes())
    except (ValueError, OSError) as error:
        raise Broken(f"not JSON ({error})") from None
    if not isinstance(document, dict) or not {"run", "scenarios"} & document.keys():
        return 'a JSON file with neither "run" nor "scenarios"'
    return None


def _run_id(path: Path) -> object:
    """A JSON report's own run id (already read once, so it parses)."""
    run = json.loads(path.read_bytes()).get("run")
    return run.get("id") if isinstance(run, dict) else None


def _with_labels(body: bytes, labels: Labels) -> bytes:
    """A JSON report with the labels set in its `run`: the uploader's variant over the file's,
    the file's own part and totalParts where the uploader has none."""
    if labels == Labels():
        return body  # sent byte for byte, so a report posted before this uploader still matches
    document = json.loads(body)
    run = document.setdefault("run", {})
    if not isinstance(run, dict):
        return body  # not a report Triage takes; its answer will say why
    own_part = labels.part_from_path and run.get("part")
    if labels.part is not None and not own_part:
        run["part"] = labels.part
    if labels.total_parts is not None and not (own_part and run.get("totalParts")):
        run["totalParts"] = labels.total_parts
    if labels.variant:
        own = run.get("variant")
        run["variant"] = {**(own if isinstance(own, dict) else {}), **labels.variant}
    return json.dumps(document).encode()


def _request(args: argparse.Namespace, path: Path, labels: Labels) -> tuple[str, str, bytes]:
    """The URL, content type and body that send one report file."""
    base = f"{args.url.rstrip('/')}/api/v1/projects/{urllib.parse.quote(args.project)}/runs"
    if not _is_xml(path):
        return base, "application/json", _with_labels(path.read_bytes(), labels)
    query = [
        ("runId", args.run_id), ("suite", args.suite), ("branch", args.branch),
        ("commit", args.commit), ("url", args.ci_url), ("rerunToken", args.rerun_token),
        ("rerunOf", args.rerun_of), ("part", labels.part),
        ("totalParts", str(labels.total_parts) if labels.total_parts else None),
    ]  # fmt: skip
    query += [("variant", f"{key}={value}") for key, value in labels.variant.items()]
    url = base + "?" + urllib.parse.urlencode([(k, v) for k, v in query if v])
    return url, "application/xml", path.read_bytes()


def post_report(
    url: str, content_type: str, body: bytes, token: str, *, pause: float = 1.0, secret: str = ""
) -> tuple[int, dict]:
    """POST gzip'd `body` and return Triage's status and answer; retry 5xx and connection errors
    with backoff; 4xx raises Refused."""
    data = gzip.compress(body)
    for attempt in range(1, RETRIES + 1):
        headers = {
            "Authorization": f"Bearer {token}", "Content-Type": content_type,
            "Content-Encoding": "gzip", "User-Agent": "triage-upload",
        }  # fmt: skip
        if secret:
            # Signed anew on every try: the timestamp must be fresh.
            stamp = str(int(time.time()))
            parts = urllib.parse.urlsplit(url)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            signed = stamp.encode() + b"." + target.encode() + b"." + data
            mac = hmac.new(secret.encode(), signed, hashlib.sha256)
            headers["X-Triage-Timestamp"] = stamp
            headers["X-Triage-Signature"] = "sha256=" + mac.hexdigest()
        request = urllib.request.Request(url, data=data, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            text = error.read().decode(errors="replace")
            if error.code < 500:
                message = f"Triage refused {url} with {error.code}: {text}"
                raise Refused(message, error.code) from None
            problem = f"{error.code}: {text[:300]}"
            asked = _seconds(error.headers.get("Retry-After", ""))
        except (urllib.error.URLError, OSError) as error:
            problem = str(error)
            asked = 0.0
        if attempt == RETRIES:
            raise Unreachable(f"gave up after {RETRIES} tries: {problem}")
        # A busy Triage says when to come back; it is waited for, up to a minute a try.
        wait = max(pause * 2 ** (attempt - 1), min(asked, MAX_RETRY_AFTER_SECONDS))
        print(f"triage-upload: try {attempt} failed ({problem}); again in {wait:.0f}s",
              file=sys.stderr)  # fmt: skip
        time.sleep(wait)
    raise Unreachable("no try was made")


def _seconds(retry_after: str) -> float:
    """Retry-After in seconds; its date form, or nonsense, counts as not said."""
    text = retry_after.strip()
    return float(text) if text.isdigit() else 0.0


def _variant(text: str) -> tuple[str, str]:
    key, equals, value = text.partition("=")
    if not (key and equals):
        raise argparse.ArgumentTypeError(f"expected key=value, e.g. browser=webkit, not {text!r}")
    return key, value


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="report files or folders of them")
    parser.add_argument("--url", default=os.environ.get("TRIAGE_URL"), help="Triage's address")
    parser.add_argument("--project", default=os.environ.get("TRIAGE_PROJECT"))
    parser.add_argument("--token-env", default="TRIAGE_TOKEN",
                        help="environment variable holding the project token")  # fmt: skip
    parser.add_argument("--signing-secret-env", default="TRIAGE_SIGNING_SECRET",
                        help="environment variable holding the signing secret, if any")  # fmt: skip
    parser.add_argument("--run-id", help="CI's id of this run attempt (JUnit XML)")
    parser.add_argument("--suite", help="suite name, e.g. smoke (JUnit XML)")
    parser.add_argument("--branch")
    parser.add_argument("--commit")
    parser.add_argument("--ci-url", help="link to this CI run")
    parser.add_argument(
        "--rerun-token",
        default=os.environ.get("TRIAGE_RERUN_TOKEN"),
        help="the token of the Triage rerun this run answers (JUnit XML)",
    )
    parser.add_argument("--rerun-of", help="CI run id this run reruns (JUnit XML)")
    parser.add_argument(
        "--part",
        help="this job's part of a run posted by several jobs (a shard, a matrix cell); "
        "with a folder, each file is sent as <part>/<its path in the folder>",
    )
    parser.add_argument("--total-parts", type=_count, help="how many parts the whole run will have")
    parser.add_argument(
        "--variant", type=_variant, action="append", default=[], metavar="KEY=VALUE",
        help="the configuration these tests ran in, e.g. browser=webkit (repeatable)",
    )  # fmt: skip
    parser.add_argument("--retry-pause", type=float, default=1.0, help=argparse.SUPPRESS)
    return parser


def _outcome(status: int, answer: dict, part: str | None) -> str:
    """One line on what Triage did with a file, e.g. `stored as part 'a.xml' (2 of 3 parts)`."""
    said = "stored" if status == 201 else "already stored"
    if part is None:
        return said
    said += f" as part {part!r}"
    parts = answer.get("parts")
    if isinstance(parts, dict) and parts.get("received"):
        expected = parts.get("expected")
        said += f" ({parts['received']}{f' of {expected}' if expected else ''} parts received)"
    return said


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    token = os.environ.get(args.token_env, "")
    if not (args.url and args.project and token):
        parser.error(f"--url, --project and the token in ${args.token_env} are required")
    try:
        files = _files(args.paths, args.part)
    except FileNotFoundError as error:
        parser.error(str(error))
    reports: list[tuple[Path, str | None]] = []
    refused = 0
    for path, part in files:
        try:
            reason = not_a_report(path)
        except Broken as error:
            print(f"triage-upload: {path}: {error}", file=sys.stderr)
            refused += 1
            continue
        if reason:
            print(f"triage-upload: skipped {path}: {reason}", file=sys.stderr)
        else:
            reports.append((path, part))
    if not reports and not refused:
        parser.error("no test report found")
    if any(_is_xml(path) for path, _ in reports) and not (args.run_id and args.suite):
        parser.error("XML reports need --run-id and --suite")
    one_file = _one_file(args.paths)
    # Files of the run named by --run-id: every XML file, and JSON reports of that run id. A
    # JSON report of another run id is a run of its own.
    of_the_run = {
        path for path, _ in reports if one_file or _is_xml(path) or _run_id(path) == args.run_id
    }
    total_parts = args.total_parts
    if total_parts is None and args.part is None and not one_file:
        # The uploader names the parts itself: this call sends the whole run, so it knows its
        # size.
        total_parts = len(of_the_run)
    unreadable = refused
    printed: set[str] = set()
    secret = os.environ.get(args.signing_secret_env, "")
    for path, part in reports:
        if path in of_the_run:
            labels = Labels(part=part, total_parts=total_parts, variant=dict(args.variant),
                            part_from_path=not one_file)  # fmt: skip
        else:
            labels = Labels(variant=dict(args.variant))
        try:
            status, answer = post_report(*_request(args, path, labels), token,
                                         pause=args.retry_pause, secret=secret)  # fmt: skip
        except Refused as error:
            print(f"triage-upload: {path}: {error}", file=sys.stderr)
            if error.status in (401, 403, 404):
                return 1  # the token or the project is wrong: no other file will fare better
            # One bad file must not cost the others: report it and go on.
            refused += 1
            continue
        except Unreachable as error:
            print(f"triage-upload: {error}", file=sys.stderr)
            return 3
        print(f"triage-upload: {path}: {_outcome(status, answer, part)}", file=sys.stderr)
        # Every part answers with its run's address: say each run once.
        url = answer.get("url", "")
        if url not in printed:
            printed.add(url)
            print(url)
    if refused:
        total = len(reports) + unreadable
        print(f"triage-upload: {refused} of {total} reports refused", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
